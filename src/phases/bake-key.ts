/**
 * The bake key: a digest of everything that decides what an AMI we bake contains, tagged on the
 * AMI (Tags.BakeKey). Two deploys with the same key would bake the same image, so the second one
 * reuses the first one's AMI (phases/reuse.ts). What goes in: the source image id, the commit, every
 * uploaded file (its path as it lands remotely, its mode and its bytes, walked as the upload walks:
 * `.git` left out, symlinks followed), where the upload lands, the deploy script's name and bytes,
 * and each deploy-env key with a digest of its value (values are secrets: only digests are mixed in).
 * The per-instance variables (instance id, run id) are left out: they differ on every run.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DeployConfig } from '../config/index.js';

/** Bumped when what goes into the key changes, so an old key never matches a new recipe. */
const BakeKeyVersion = 'v1';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The content part of the key, the same for every image of a run. */
export interface DeployDigest {
  readonly commit: string;
  /** The digest of the uploads, the upload directory, the script and the environment. */
  readonly content: string;
}

/**
 * Digests the deploy as configured. Reads every uploaded file, so it is computed once per run; a
 * path that cannot be read fails here, before anything is launched, as the deploy would fail later.
 */
export async function deployDigest(
  deploy: Pick<DeployConfig, 'upload' | 'uploadDir' | 'script' | 'env'>,
  options: { readonly workspace: string; readonly commit: string },
): Promise<DeployDigest> {
  const lines: string[] = [`upload-dir ${JSON.stringify(deploy.uploadDir)}`];
  for (const given of deploy.upload) {
    const local = path.resolve(options.workspace, given);
    const remote = local === path.resolve(options.workspace) ? '.' : path.basename(local);
    await digestPath({ local, remote, lines, seen: new Set() });
  }
  if (deploy.script !== '') {
    const bytes = await readFile(path.resolve(options.workspace, deploy.script));
    lines.push(`script ${JSON.stringify(path.basename(deploy.script))} ${sha256(bytes)}`);
  }
  for (const key of Object.keys(deploy.env).sort()) lines.push(`env ${key} ${sha256(deploy.env[key] ?? '')}`);
  return { commit: options.commit, content: sha256(lines.join('\n')) };
}

/** One line per file (remote path, mode, digest of its bytes), in a stable order. */
async function digestPath(options: {
  readonly local: string;
  readonly remote: string;
  readonly lines: string[];
  readonly seen: Set<string>;
}): Promise<void> {
  const info = await stat(options.local).catch(() => undefined);
  if (!info) return; // a dangling symlink: the upload skips it too
  if (info.isFile()) {
    const bytes = await readFile(options.local);
    options.lines.push(
      `file ${JSON.stringify(options.remote)} ${(info.mode & 0o777).toString(8)} ${sha256(bytes)}`,
    );
    return;
  }
  if (!info.isDirectory()) return;
  const real = await realpath(options.local);
  if (options.seen.has(real)) return;
  options.seen.add(real);
  options.lines.push(`dir ${JSON.stringify(options.remote)}`);
  const entries = (await readdir(options.local)).sort();
  for (const name of entries) {
    if (name === '.git') continue;
    await digestPath({
      ...options,
      local: path.join(options.local, name),
      remote: path.posix.join(options.remote, name),
    });
  }
}

/** The key of one image: the deploy's digest baked onto this source image. Fits an AWS tag value. */
export function bakeKey(digest: DeployDigest, sourceImageId: string): string {
  return `${BakeKeyVersion}-${sha256([sourceImageId, digest.commit, digest.content].join('\n'))}`;
}
