// Builds the action's bundles with ncc: one per entry, with a source map and the licenses of what
// they contain. Shared by `npm run build` and scripts/check-dist.mjs, so the two can never disagree.
//
//   node scripts/build.mjs [OUT]   (default OUT: dist)
//
// ssh2 ships optional native helpers (its sshcrypto addon, cpu-features, a Windows pageant helper).
// ncc copies them as assets, but they are built for the Node ABI of the machine that ran `npm ci`,
// not the runner's Node 24, and their bytes differ from machine to machine. ssh2 loads each inside
// try/catch and falls back to its pure JavaScript code, so we leave them out: the bundle behaves the
// same everywhere and a fresh build is byte-for-byte reproducible.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const entries = { main: 'src/action/index.ts', post: 'src/action/post.ts' };
const ncc = resolve('node_modules/@vercel/ncc/dist/ncc/cli.js');
const nativeAsset = /\.(node|exe)$/;

function listFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** Removes native assets and the folders left empty by that. */
function pruneNative(dir) {
  for (const file of listFiles(dir)) if (nativeAsset.test(file)) rmSync(file);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      pruneNative(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    }
  }
}

/** Builds every entry into `out/<name>/`, replacing what was there. */
export function buildInto(out, { quiet = false } = {}) {
  for (const [name, entry] of Object.entries(entries)) {
    const target = join(out, name);
    rmSync(target, { recursive: true, force: true });
    const args = [ncc, 'build', entry, '-o', target, '--source-map', '--license', 'licenses.txt'];
    if (quiet) args.push('--quiet');
    execFileSync(process.execPath, args, { stdio: 'inherit' });
    pruneNative(target);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildInto(process.argv[2] ?? 'dist');
}
