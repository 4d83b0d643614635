/**
 * Third-party actions run with the job's token and the AWS session: a tag can be moved to other
 * code at any time, a commit SHA cannot. Every `uses:` of an action from another repository, in the
 * workflows and the examples, names a full commit SHA, with the version it is in a comment.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const Own = 'asg-rolling/asg-rolling';
const Uses = /^\s*(?:-\s+)?uses:\s*['"]?([^\s'"]+)['"]?\s*(#.*)?$/;

const files = (dir: string): string[] =>
  readdirSync(join(root, dir))
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => join(dir, name));

/** [file:line, action reference, comment] of every `uses:` of another repository's action. */
function thirdParty(paths: readonly string[]): [string, string, string][] {
  return paths.flatMap((path) =>
    readFileSync(join(root, path), 'utf8')
      .split('\n')
      .flatMap((line, index): [string, string, string][] => {
        const match = Uses.exec(line);
        const ref = match?.[1];
        if (!ref || ref.startsWith('./') || ref.startsWith('docker://') || ref.startsWith(`${Own}/`))
          return [];
        if (ref.startsWith(`${Own}@`)) return [];
        return [[`${path}:${index + 1}`, ref, match[2] ?? '']];
      }),
  );
}

describe('third-party actions are pinned by commit SHA', () => {
  const workflows = thirdParty(files('.github/workflows'));
  const examples = thirdParty(files('examples'));

  it('finds the actions the workflows use', () => {
    const names = new Set(workflows.map(([, ref]) => ref.split('@')[0]));
    expect([...names].sort()).toEqual([
      'actions/checkout',
      'actions/download-artifact',
      'actions/setup-node',
      'actions/upload-artifact',
      'aws-actions/configure-aws-credentials',
    ]);
  });

  it.each([...workflows, ...examples])('%s uses %s with a 40-hex SHA and its version', (_, ref, comment) => {
    expect(ref).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
    expect(comment).toMatch(/^# v\d+(\.\d+){0,2}$/);
  });

  it('pins each action at one commit everywhere', () => {
    const shas = new Map<string, Set<string>>();
    for (const [, ref] of [...workflows, ...examples]) {
      const [name = '', sha = ''] = ref.split('@');
      shas.set(name, (shas.get(name) ?? new Set()).add(sha));
    }
    for (const [name, set] of shas) expect([name, set.size]).toEqual([name, 1]);
  });
});
