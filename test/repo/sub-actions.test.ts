/**
 * The split-mode sub-actions (setup/, finalize/) run the root action's bundles with `command` fixed
 * by its default. Every other input they list must read exactly as in action.yml, so the two never
 * document different behaviour or defaults.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface ActionYaml {
  inputs: Record<string, { description: string; default?: string }>;
  runs: { using: string; main: string; post?: string; 'post-if'?: string };
}

const load = (path: string): ActionYaml => parse(readFileSync(path, 'utf8')) as ActionYaml;
const root = load('action.yml');
const words = (text: string): string => text.split(/\s+/).join(' ').trim();

describe.each(['setup', 'finalize'])('%s/action.yml', (name) => {
  const sub = load(`${name}/action.yml`);

  it(`fixes command to ${name} and runs the root bundles with the post step always`, () => {
    expect(sub.inputs.command?.default).toBe(name);
    expect(sub.runs).toEqual({
      using: root.runs.using,
      main: `../${root.runs.main}`,
      post: `../${root.runs.post}`,
      'post-if': 'always()',
    });
  });

  it('lists only inputs of action.yml, each with its description and default', () => {
    for (const [input, spec] of Object.entries(sub.inputs)) {
      if (input === 'command') continue;
      const original = root.inputs[input];
      expect(original, input).toBeDefined();
      expect(words(spec.description), input).toBe(words(original?.description ?? ''));
      expect(spec.default ?? '', input).toBe(original?.default ?? '');
    }
  });
});
