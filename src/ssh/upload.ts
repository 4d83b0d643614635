/**
 * SFTP upload of the user's files over one node-ssh connection. We list directories ourselves
 * instead of using putDirectory so that each file keeps its permission bits (an executable in
 * build/bin stays executable) and so that dotfiles are uploaded: only `.git` is left behind.
 *
 * Safe when several deploys write the same directory at once (instances sharing one file system,
 * as every simulated instance does): directories come from an idempotent `mkdir -p`, and each file
 * is written under a name of this deploy's own, then renamed into place.
 */
import type { NodeSSH } from 'node-ssh';
import pLimit from 'p-limit';
import { errorMessage } from '../lib/errors.js';
import { mkdirCommands, moveCommands, removeCommands, temporaryName } from './command.js';
import { listUploads, type FileTransfer, type UploadItem } from './local-files.js';

export type { UploadItem } from './local-files.js';

/** Parallel SFTP writes per connection: enough to hide latency, few enough not to hog the instance. */
const UploadConcurrency = 4;

/**
 * Creates `root` and uploads every item below it; resolves with the number of files sent, rejects
 * naming the first failure. `token` (unique to this deploy) names the temporary files.
 */
export async function uploadAll(options: {
  ssh: NodeSSH;
  root: string;
  items: readonly UploadItem[];
  token: string;
  /** Every local path must resolve inside it (see listUploads). */
  workspace: string;
}): Promise<number> {
  const { ssh } = options;
  const listing = await listUploads(options.items, options.workspace);
  const directories = [options.root, ...listing.directories];
  const files = listing.files;
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
