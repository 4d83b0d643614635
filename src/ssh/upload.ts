/**
 * SFTP upload of the user's files over one node-ssh connection. We list directories ourselves
 * instead of using putDirectory so that each file keeps its permission bits (an executable in
 * build/bin stays executable) and so that dotfiles are uploaded: only `.git` is left behind.
 *
 * Safe when several deploys write the same directory at once (instances sharing one file system,
 * as every simulated instance does): directories come from an idempotent `mkdir -p`, and each file
 * is written under a name of this deploy's own, then renamed into place.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { NodeSSH } from 'node-ssh';
import pLimit from 'p-limit';
import { errorMessage } from '../lib/errors.js';
import { mkdirCommands, moveCommands, removeCommands, temporaryName } from './command.js';

/** Parallel SFTP writes per connection: enough to hide latency, few enough not to hog the instance. */
const UploadConcurrency = 4;

/** One local path and where it goes; a directory's contents land under `remote`. */
export interface UploadItem {
  readonly local: string;
  readonly remote: string;
  readonly directory: boolean;
}

interface FileTransfer {
  local: string;
  remote: string;
  mode: number;
}

/**
 * Creates `root` and uploads every item below it; resolves with the number of files sent, rejects
 * naming the first failure. `token` (unique to this deploy) names the temporary files.
 */
export async function uploadAll(options: {
  ssh: NodeSSH;
  root: string;
  items: readonly UploadItem[];
  token: string;
}): Promise<number> {
  const { ssh, items } = options;
  const directories: string[] = [options.root];
  const files: FileTransfer[] = [];
  for (const item of items) {
    if (item.directory) {
      directories.push(item.remote);
      await walk({ local: item.local, remote: item.remote, directories, files, seen: new Set() });
    } else {
      files.push({ local: item.local, remote: item.remote, mode: (await stat(item.local)).mode & 0o777 });
    }
  }
  for (const command of mkdirCommands(directories)) await execChecked(ssh, command);
  if (files.length === 0) return 0;

  const staged = files.map((file) => ({ ...file, temporary: temporaryName(file.remote, options.token) }));
  try {
    await putAll(ssh, staged);
    const moves = staged.map((file) => ({ from: file.temporary, to: file.remote }));
    for (const command of moveCommands(moves)) await execChecked(ssh, command);
  } catch (error) {
    // Best effort: on a broken connection these fail too, and the instance is thrown away anyway.
    for (const command of removeCommands(staged.map((file) => file.temporary)))
      await ssh.execCommand(command).catch(() => undefined);
    throw error;
  }
  return files.length;
}

/** Runs a command that must succeed, failing with its exit code and stderr. */
export async function execChecked(ssh: NodeSSH, command: string): Promise<void> {
  const result = await ssh.execCommand(command);
  if (result.code !== 0) {
    const shown = command.length > 200 ? `${command.slice(0, 200)}…` : command;
    throw new Error(`'${shown}' failed with code ${result.code ?? result.signal}: ${result.stderr}`);
  }
}

/** Writes every file to its temporary name over one SFTP session, a few at a time. */
async function putAll(ssh: NodeSSH, files: readonly (FileTransfer & { temporary: string })[]): Promise<void> {
  const sftp = await ssh.requestSFTP();
  try {
    const limit = pLimit(UploadConcurrency);
    await Promise.all(
      files.map((file) =>
        limit(async () => {
          try {
            await ssh.putFile(file.local, file.temporary, sftp, { mode: file.mode });
          } catch (error) {
            throw new Error(`upload of ${file.local} to ${file.remote} failed: ${errorMessage(error)}`, {
              cause: error,
            });
          }
        }),
      ),
    );
  } finally {
    sftp.end();
  }
}

async function walk(options: {
  local: string;
  remote: string;
  directories: string[];
  files: FileTransfer[];
  /** Real paths of directories already listed, so a symlink loop cannot recurse forever. */
  seen: Set<string>;
}): Promise<void> {
  const real = await realpath(options.local);
  if (options.seen.has(real)) return;
  options.seen.add(real);
  const entries = await readdir(options.local);
  entries.sort();
  for (const name of entries) {
    if (name === '.git') continue;
    const local = path.join(options.local, name);
    const remote = path.posix.join(options.remote, name);
    // stat follows symlinks: a linked file is uploaded as its content; a dangling link is skipped.
    const info = await stat(local).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) {
      options.directories.push(remote);
      await walk({ ...options, local, remote });
    } else if (info.isFile()) {
      options.files.push({ local, remote, mode: info.mode & 0o777 });
    }
  }
}
