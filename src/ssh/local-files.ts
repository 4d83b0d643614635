/**
 * Lists the local files an upload sends, keeping it inside the workspace. Whatever is uploaded is
 * baked into an AMI that many instances boot from, so a symbolic link must not carry in a file the
 * user did not mean to ship: a link is followed only when it resolves inside the directory being
 * uploaded (inside the workspace for a path listed directly), and never into a `.git` directory,
 * whose config can hold the checkout's token. Anything else fails the upload, naming the link and
 * its target, rather than being skipped in silence.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** One local path and where it goes; a directory's contents land under `remote`. */
export interface UploadItem {
  readonly local: string;
  readonly remote: string;
  readonly directory: boolean;
  /**
   * Sent executable whatever its local mode (the deploy script). It must be executable when it is
   * renamed into place: a deploy that only chmods it afterwards leaves a moment where another
   * deploy sharing the directory finds a fresh copy it cannot execute.
   */
  readonly executable?: boolean;
}

export interface FileTransfer {
  readonly local: string;
  readonly remote: string;
  readonly mode: number;
}

export interface UploadListing {
  /** Remote directories to create, parents first. */
  readonly directories: string[];
  readonly files: FileTransfer[];
}

/** Whether `target` is `root` or below it. */
function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return (
    relative === '' ||
    (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative))
  );
}

/** Whether a path below the workspace passes through a `.git` directory. */
function inGit(workspace: string, target: string): boolean {
  return path.relative(workspace, target).split(path.sep).includes('.git');
}

interface Walk {
  readonly workspace: string;
  /** Real path of the workspace, for display. */
  readonly realWorkspace: string;
  readonly listing: UploadListing;
}

/**
 * The real path a link at `local` resolves to, checked against `root` (a real path); undefined for
 * a dangling link, which is left out as before: there is nothing to copy.
 */
async function followLink(
  walk: Walk,
  local: string,
  root: string,
  rootLabel: string,
  what = 'the symbolic link',
): Promise<string | undefined> {
  const target = await realpath(local).catch(() => undefined);
  if (target === undefined) return undefined;
  const shown = path.relative(walk.workspace, local) || '.';
  const refuse = (why: string): Error =>
    new Error(
      `upload refused: ${what} '${shown}' points to '${target}', ${why}. ` +
        'Copy the file into the workspace, or remove the link, to upload it.',
    );
  if (!isInside(walk.realWorkspace, target)) throw refuse(`outside the workspace ${walk.workspace}`);
  if (inGit(walk.realWorkspace, target)) throw refuse('inside a .git directory, which can hold credentials');
  if (!isInside(root, target)) throw refuse(`outside the uploaded directory '${rootLabel}'`);
  return target;
}

async function walkDirectory(
  walk: Walk,
  local: string,
  remote: string,
  root: string,
  rootLabel: string,
  /** Real paths of the directories being listed above this one. */
  ancestors: ReadonlySet<string>,
): Promise<void> {
  const real = await realpath(local);
  // A link back to a directory being listed is a loop: the copy would never end.
  if (ancestors.has(real)) return;
  const below = new Set([...ancestors, real]);
  const entries = await readdir(local);
  entries.sort();
  for (const name of entries) {
    if (name === '.git') continue;
    const child = path.join(local, name);
    const childRemote = path.posix.join(remote, name);
    let info = await lstat(child);
    if (info.isSymbolicLink()) {
      const target = await followLink(walk, child, root, rootLabel);
      if (target === undefined) continue;
      info = await stat(target);
    }
    if (info.isDirectory()) {
      walk.listing.directories.push(childRemote);
      await walkDirectory(walk, child, childRemote, root, rootLabel, below);
    } else if (info.isFile()) {
      walk.listing.files.push({ local: child, remote: childRemote, mode: info.mode & 0o777 });
    }
  }
}

/**
 * Lists every directory and file of `items` (paths inside `workspace`); rejects on a symbolic link
 * that leaves its directory, the workspace, or enters `.git`.
 */
export async function listUploads(items: readonly UploadItem[], workspace: string): Promise<UploadListing> {
  const realWorkspace = await realpath(workspace);
  const walk: Walk = { workspace, realWorkspace, listing: { directories: [], files: [] } };
  for (const item of items) {
    const label = path.relative(workspace, item.local) || '.';
    // A path listed directly may be a link, or lie below one: it must stay in the workspace and
    // out of .git wherever it resolves to.
    const link = (await lstat(item.local)).isSymbolicLink();
    const what = link ? 'the symbolic link' : 'the upload path';
    const top = await followLink(walk, item.local, realWorkspace, label, what);
    if (top === undefined) throw new Error(`upload path '${label}' is a symbolic link to nothing`);
    if (item.directory) {
      walk.listing.directories.push(item.remote);
      await walkDirectory(walk, item.local, item.remote, top, label, new Set());
    } else {
      walk.listing.files.push({
        local: item.local,
        remote: item.remote,
        mode: withExecute((await stat(top)).mode & 0o777, item.executable === true),
      });
    }
  }
  return walk.listing;
}

/** Adds execute permission wherever read permission is, as `chmod +x` does under umask 022. */
function withExecute(mode: number, executable: boolean): number {
  return executable ? mode | ((mode & 0o444) >> 2) : mode;
}
