/**
 * What both entries share: run the step, turn anything thrown into a failed step, then end the
 * process. Ending it explicitly matters: an SDK keep-alive socket or a forgotten timer would
 * otherwise hold the job open until GitHub's timeout (actions/cache exits the same way).
 */
import * as core from '@actions/core';
import { errorMessage } from '../lib/errors.js';

export interface EntryOptions {
  /** Ends the process; tests pass a recorder. */
  readonly exit?: (code: number) => void;
}

/** Resolves once everything written so far to `stream` has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableEnded || stream.destroyed) resolve();
    else stream.write('', () => resolve());
  });
}

/**
 * Runs a step: any thrown value, Error or not, becomes core.setFailed(message) and exit code 1;
 * an exit code the step set itself is kept. Exits once stdout and stderr are flushed, so the
 * runner sees every output and annotation before the process ends.
 */
export async function runEntry(fn: () => Promise<void>, options: EntryOptions = {}): Promise<void> {
  try {
    await fn();
  } catch (error) {
    core.setFailed(errorMessage(error));
    process.exitCode = 1;
  }
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  const code = typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0) || 0;
  (options.exit ?? process.exit)(code);
}
