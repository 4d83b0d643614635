/**
 * The dependency rule of .dependency-cruiser.cjs (run by `npm run lint`) passes on src/ and fails on
 * a fixture tree that breaks each of its rules once: an upward import, a cycle, an SDK command sent
 * outside src/aws and a module outside every layer folder.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/action-runner.js';

const depcruise = resolve(repoRoot, 'node_modules/.bin/depcruise');
const config = resolve(repoRoot, '.dependency-cruiser.cjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** The violations found in `cwd`/src, and the exit status of the same check as `npm run lint` runs it. */
function cruise(cwd: string): { status: number | null; violations: Violation[] } {
  const run = (...extra: string[]) =>
    spawnSync(depcruise, ['src', '--config', config, ...extra], { cwd, encoding: 'utf8' });
  const json = run('--output-type', 'json');
  const summary = (JSON.parse(json.stdout) as { summary: { violations: Violation[] } }).summary;
  return { status: run().status, violations: summary.violations };
}

describe('the layer rule', () => {
  it('holds for src/', () => {
    const { status, violations } = cruise(repoRoot);
    expect(violations).toEqual([]);
    expect(status).toBe(0);
  });

  it('fails on each kind of violation, and only there', () => {
    const { status, violations } = cruise(resolve(repoRoot, 'test/fixtures/layering'));
    expect(status).not.toBe(0);
    const found = violations.map(
      (v) => `${v.rule.name} ${v.from} -> ${v.to.replace(/^.*node_modules\//, '')}`,
    );
    expect(found.sort()).toEqual(
      [
        'layer-lib src/lib/upward.ts -> src/action/entry.ts',
        'no-cycles src/phases/cycle-b.ts -> src/phases/sends.ts',
        'no-loose-files src/loose.ts -> src/lib/upward.ts',
        'sdk-commands-only-in-aws src/phases/sends.ts -> @aws-sdk/client-ec2/dist-cjs/index.js',
      ].sort(),
    );
  });

  it('is part of the lint step', () => {
    const pkg = JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const scripts = pkg.scripts;
    expect(scripts.lint).toContain('depcruise src --config .dependency-cruiser.cjs');
  });
});
