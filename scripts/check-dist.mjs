// Fails when dist/ differs from a fresh build of the source: the action runs from dist/, so a stale
// bundle would ship code nobody reviewed. Builds into a scratch folder and compares file by file.
//
//   node scripts/check-dist.mjs [DIST] [--out DIR] [--fresh DIR]
//     DIST         the bundles to check (default: dist)
//     --out DIR    keep the fresh build in DIR (CI uploads it when the check fails)
//     --fresh DIR  compare with an existing fresh build instead of building (tests)
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { buildInto } from './build.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, fresh: { type: 'string' } },
});
const distDir = positionals[0] ?? 'dist';
function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

const scratch = values.fresh ?? values.out ?? mkdtempSync(join(tmpdir(), 'check-dist-'));
const ownScratch = values.fresh === undefined && values.out === undefined;
try {
  if (values.fresh === undefined) {
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    buildInto(scratch, { quiet: true });
  }
  const fresh = new Set(listFiles(scratch).map((f) => relative(scratch, f)));
  const committed = new Set(listFiles(distDir).map((f) => relative(distDir, f)));
  const problems = [];
  for (const file of [...fresh].sort()) {
    if (!committed.has(file)) problems.push(`missing in ${distDir}/: ${file}`);
    else if (!readFileSync(join(scratch, file)).equals(readFileSync(join(distDir, file))))
      problems.push(`differs from a fresh build: ${distDir}/${file}`);
  }
  for (const file of [...committed].sort())
    if (!fresh.has(file)) problems.push(`not produced by the build: ${distDir}/${file}`);
  if (problems.length > 0) {
    console.error(
      `${distDir}/ does not match the source:\n  ${problems.join('\n  ')}\nRun "npm run build" and commit dist/.`,
    );
    process.exitCode = 1;
  } else {
    console.log(`${distDir}/ matches a fresh build (${fresh.size} files).`);
  }
} finally {
  if (ownScratch) rmSync(scratch, { recursive: true, force: true });
}
