/**
 * SIGINT/SIGTERM: when a job is cancelled GitHub sends SIGINT, then SIGTERM 7.5 s later, and kills
 * the process 2.5 s after that. In that window the run's waits are aborted and every registered
 * temporary instance is terminated at once (bounded in time), then the process exits, unless the
 * run has already wound down and exited by itself.
 */
import type { Logger } from '../lib/runtime.js';

export interface SignalOptions {
  readonly controller: AbortController;
  /** The instances that may still be running, read at the moment the signal arrives. */
  readonly pendingInstances: () => readonly string[];
  readonly terminate: (ids: readonly string[]) => Promise<void>;
  readonly keepInstances: boolean;
  readonly log: Logger;
  readonly exit: (code: number) => void;
  /** The process in the action; an EventEmitter in tests. */
  readonly target?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** How long termination may take before we give up on it (the post step retries). */
  readonly terminateBudgetMs?: number;
  /** After termination, how long the run gets to wind down (and write its summary) before we exit anyway. */
  readonly graceMs?: number;
}

const ExitCodes: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/** Installs the handlers; returns a function that removes them. */
export function installSignalHandlers(options: SignalOptions): () => void {
  const target = options.target ?? process;
  let handling: Promise<void> | undefined;
  const handle = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (handling) {
      options.log.warning(`Received ${signal} again: still terminating the temporary instances`);
      return;
    }
    handling = onSignal(signal, options);
  };
  const onInt = (): void => handle('SIGINT');
  const onTerm = (): void => handle('SIGTERM');
  target.on('SIGINT', onInt);
  target.on('SIGTERM', onTerm);
  return () => {
    target.off('SIGINT', onInt);
    target.off('SIGTERM', onTerm);
  };
}

async function onSignal(signal: 'SIGINT' | 'SIGTERM', options: SignalOptions): Promise<void> {
  const ids = [...options.pendingInstances()];
  options.log.warning(`Received ${signal}: stopping the run`);
  options.controller.abort(new Error(`cancelled by ${signal}`));
  if (ids.length > 0 && options.keepInstances) {
    options.log.warning(`Keeping temporary instance(s) ${ids.join(', ')} (keep-instances: true)`);
  } else if (ids.length > 0) {
    options.log.warning(`Terminating temporary instance(s) ${ids.join(', ')}`);
    const budget = options.terminateBudgetMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), budget);
    });
    try {
      const outcome = await Promise.race([options.terminate(ids).then(() => 'done' as const), timeout]);
      if (outcome === 'timeout')
        options.log.warning(`Termination did not finish within ${budget} ms; the post step retries`);
    } catch (error) {
      options.log.warning(
        `Could not terminate every instance (${error instanceof Error ? error.message : String(error)}); the post step retries`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
  // The run normally winds down and exits by itself well before this: a launch still on its way
  // returns its id and the run terminates that instance too. The timer only ends a run that hangs,
  // still inside GitHub's window (5 s of termination budget + 4 s < 10 s to the SIGKILL).
  const exitTimer = setTimeout(() => options.exit(ExitCodes[signal]), options.graceMs ?? 4000);
  exitTimer.unref();
}
