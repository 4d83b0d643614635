// Fails when dist/ differs from a fresh build of the source: the action runs from dist/, so a stale
// bundle would ship code nobody reviewed. Builds into a scratch folder and compares file by file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const distDir = process.argv[2] ?? 'dist';
const entries = { main: 'src/index.ts', post: 'src/post.ts' };

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'check-dist-'));
try {
  for (const [name, entry] of Object.entries(entries)) {
    execFileSync(
      'npx',
      [
        'ncc',
        'build',
        entry,
        '-o',
        join(scratch, name),
        '--source-map',
        '--license',
        'licenses.txt',
        '--quiet',
      ],
      { stdio: 'inherit' },
    );
  }
  const fresh = new Set(listFiles(scratch).map((f) => relative(scratch, f)));
  const committed = new Set(listFiles(distDir).map((f) => relative(distDir, f)));
  const problems = [];
  for (const file of fresh) {
    if (!committed.has(file)) problems.push(`missing in ${distDir}/: ${file}`);
    else if (!readFileSync(join(scratch, file)).equals(readFileSync(join(distDir, file))))
      problems.push(`differs from a fresh build: ${distDir}/${file}`);
  }
  for (const file of committed)
    if (!fresh.has(file)) problems.push(`not produced by the build: ${distDir}/${file}`);
  if (problems.length > 0) {
    console.error(
      `dist/ does not match the source:\n  ${problems.join('\n  ')}\nRun "npm run build" and commit dist/.`,
    );
    process.exit(1);
  }
  console.log(`dist/ matches a fresh build (${fresh.size} files).`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
