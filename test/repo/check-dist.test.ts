/**
 * scripts/check-dist.mjs must pass on a fresh dist and fail on any stale one. One build serves every
 * case (--out keeps it, --fresh reuses it), so the test costs a single ncc run.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeBinary, repoRoot } from '../helpers/action-runner.js';

const work = mkdtempSync(join(tmpdir(), 'check-dist-test-'));
const fresh = join(work, 'fresh');
const script = resolve(repoRoot, 'scripts/check-dist.mjs');

function checkDist(...args: string[]) {
  return spawnSync(nodeBinary, [script, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 240_000 });
}
/** A copy of the fresh build, changed by `alter`, as a stale dist would be. */
function staleCopy(name: string, alter: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(fresh, dir, { recursive: true });
  alter(dir);
  return dir;
}

let first: ReturnType<typeof checkDist>;
beforeAll(() => {
  // Builds once into `fresh` and checks that build against itself: the build is reproducible.
  first = checkDist(join(work, 'missing-dist-on-purpose'), '--out', fresh);
}, 240_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('check-dist', () => {
  it('fails when the dist is missing and keeps the fresh build with --out', () => {
    expect(first.status).toBe(1);
    expect(first.stderr).toMatch(/missing in .*missing-dist-on-purpose\/: main\/index\.js/);
    expect(readFileSync(join(fresh, 'main/index.js')).length).toBeGreaterThan(1000);
  });

  it('passes on a dist equal to a fresh build', () => {
    const copy = staleCopy('same', () => {});
    const result = checkDist(copy, '--fresh', fresh);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('matches a fresh build');
  });

  it('fails on one altered byte, naming the file', () => {
    const copy = staleCopy('byte', (dir) => {
      const file = join(dir, 'post/index.js');
      const bytes = readFileSync(file);
      const middle = Math.floor(bytes.length / 2);
      bytes.writeUInt8((bytes.readUInt8(middle) ^ 1) & 0xff, middle);
      writeFileSync(file, bytes);
    });
    const result = checkDist(copy, '--fresh', fresh);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('differs from a fresh build');
    expect(result.stderr).toContain('post/index.js');
    expect(result.stderr).not.toContain('main/index.js');
  });

  it('fails on a file the build does not produce', () => {
    const copy = staleCopy('extra', (dir) => appendFileSync(join(dir, 'main/old-chunk.js'), '// stale\n'));
    const result = checkDist(copy, '--fresh', fresh);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('not produced by the build');
  });

  it('passes on the committed dist (what CI checks before any test uses it)', () => {
    const result = checkDist('dist', '--fresh', fresh);
    expect(result.status, `${result.stderr}\nRun "npm run build" and commit dist/.`).toBe(0);
  });
});
