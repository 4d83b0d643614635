/**
 * SFTP upload of the user's files over one node-ssh connection. We list directories ourselves
 * instead of using putDirectory so that each file keeps its permission bits (an executable in
 * build/bin stays executable) and so that dotfiles are uploaded: only `.git` is left behind.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { NodeSSH } from 'node-ssh';
import pLimit from 'p-limit';
import { errorMessage } from '../errors.js';

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

/** Uploads every item; resolves with the number of files sent, rejects naming the first failure. */
export async function uploadAll(ssh: NodeSSH, items: readonly UploadItem[]): Promise<number> {
  const directories: string[] = [];
  const files: FileTransfer[] = [];
  for (const item of items) {
    if (item.directory) {
      directories.push(item.remote);
      await walk({ local: item.local, remote: item.remote, directories, files, seen: new Set() });
    } else {
      files.push({ local: item.local, remote: item.remote, mode: (await stat(item.local)).mode & 0o777 });
    }
  }
  const sftp = await ssh.requestSFTP();
  try {
    // Parents before children: the listing is depth-first from each root.
    for (const directory of directories) await ssh.mkdir(directory, 'sftp', sftp);
    const limit = pLimit(UploadConcurrency);
    await Promise.all(
      files.map((file) =>
        limit(async () => {
          try {
            await ssh.putFile(file.local, file.remote, sftp, { mode: file.mode });
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
  return files.length;
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
