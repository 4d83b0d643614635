/**
 * scripts/release.mjs on a copy of the repository's workflows and examples: every reference to our
 * own action and workflows ends up at the exact tag, nothing else changes, and a bad tag changes
 * nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const script = join(root, 'scripts', 'release.mjs');
const OwnReference = /uses:\s*asg-rolling\/asg-rolling(?:\/[\w./-]+)?@(\S+)/g;

let copy: string;
beforeEach(() => {
  copy = mkdtempSync(join(tmpdir(), 'asg-rolling-release-'));
  cpSync(join(root, '.github'), join(copy, '.github'), { recursive: true });
  cpSync(join(root, 'examples'), join(copy, 'examples'), { recursive: true });
});
afterEach(() => rmSync(copy, { recursive: true, force: true }));

const files = (dir: string): string[] =>
  readdirSync(join(copy, dir))
    .filter((name) => name.endsWith('.yml'))
    .map((name) => join(dir, name));
const all = (): string[] => [...files('.github/workflows'), ...files('examples')];
const read = (path: string): string => readFileSync(join(copy, path), 'utf8');
const refs = (path: string): string[] => [...read(path).matchAll(OwnReference)].map((m) => m[1] ?? '');
const release = (...args: string[]) =>
  spawnSync(process.execPath, [script, ...args, '--root', copy], { encoding: 'utf8' });

describe('npm run release', () => {
  it('rewrites every reference to our action and workflows to the exact tag, and only those', () => {
    const before = Object.fromEntries(all().map((path) => [path, read(path)]));
    const own = all().filter((path) => refs(path).length > 0);
    expect(own).toEqual(
      expect.arrayContaining([
        '.github/workflows/rolling-deploy.yml',
        '.github/workflows/rolling-cleanup.yml',
        '.github/workflows/rolling-drain.yml',
        'examples/deploy-manual.yml',
        'examples/split-mode-ansible.yml',
      ]),
    );
    for (const path of own)
      expect(
        refs(path).every((ref) => ref === 'v1'),
        path,
      ).toBe(true);

    const out = execFileSync(process.execPath, [script, 'v1.4.0', '--root', copy], { encoding: 'utf8' });
    expect(out).toContain('.github/workflows/rolling-deploy.yml: 1 reference(s) -> @v1.4.0');
    expect(out).toContain('git tag v1.4.0');
    for (const path of all()) {
      for (const ref of refs(path)) expect([path, ref]).toEqual([path, 'v1.4.0']);
      // Apart from the refs, every byte is as it was (third-party pins, comments, layout).
      expect(read(path).replaceAll('@v1.4.0', '@v1'), path).toBe(before[path]);
    }
    // ci.yml and check-dist.yml run this checkout, not a release: left alone.
    expect(read('.github/workflows/ci.yml')).toBe(before['.github/workflows/ci.yml']);
  });

  it('moves an earlier release tag on to the next one', () => {
    expect(release('v1.4.0').status).toBe(0);
    expect(release('v1.5.2').status).toBe(0);
    expect(refs('.github/workflows/rolling-drain.yml')).toEqual(['v1.5.2']);
    expect(refs('examples/deploy-manual.yml')).toEqual(['v1.5.2']);
  });

  it.each(['1.4.0', 'v1', 'v1.4', 'v1.4.0-rc.1', 'v01.4.0', 'v1.4.0; rm -rf /'])(
    'refuses the tag %s, naming the format, and changes nothing',
    (tag) => {
      const before = all().map(read);
      const result = release(tag);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(
        `the tag must be vMAJOR.MINOR.PATCH (for example v1.4.0), got "${tag}"`,
      );
      expect(all().map(read)).toEqual(before);
    },
  );

  it('refuses a missing tag or a second one', () => {
    expect(release().stderr).toContain('give exactly one tag');
    expect(release('v1.4.0', 'v1.5.0').stderr).toContain('give exactly one tag');
  });

  it('fails when there is nothing to rewrite (a fork not renamed with --repository)', () => {
    const result = release('v1.4.0', '--repository', 'my-org/asg-rolling');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('found no "uses: my-org/asg-rolling...@vN" reference');
  });
});
