import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderTables, replaceBetween, updateReadme } from '../../scripts/readme-inputs.js';

const readme = readFileSync('README.md', 'utf8');
const actionYaml = readFileSync('action.yml', 'utf8');

describe('README tables', () => {
  it('match action.yml (run `npm run docs` after changing action.yml)', () => {
    expect(readme).toBe(updateReadme(readme, actionYaml));
  });

  it('list every input and output of action.yml, with its default', () => {
    const action = parse(actionYaml) as {
      inputs: Record<string, { default?: string }>;
      outputs: Record<string, unknown>;
    };
    const inputsTable = readme.slice(
      readme.indexOf('<!-- inputs:start -->'),
      readme.indexOf('<!-- inputs:end -->'),
    );
    for (const [name, input] of Object.entries(action.inputs)) {
      const row = inputsTable.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      if (input.default) expect(row).toContain(`| \`${input.default}\` |`);
    }
    for (const name of Object.keys(action.outputs)) expect(readme).toContain(`| \`${name}\` |`);
  });

  it('a changed description makes them disagree', () => {
    const changed = actionYaml.replace('SSH port of the temporary instances', 'The SSH port');
    expect(changed).not.toBe(actionYaml);
    expect(updateReadme(readme, changed)).not.toBe(readme);
  });
});

describe('renderTables', () => {
  it('keeps each row on one line and escapes pipes', () => {
    const tables = renderTables(
      'inputs:\n  a:\n    description: >-\n      one | two\n      three\n    default: "x"\n  b:\n    description: "req"\n    required: true\n' +
        'outputs:\n  o:\n    description: "out"\n',
    );
    expect(tables.inputs.split('\n')).toEqual([
      '| Input | Default | Description |',
      '| --- | --- | --- |',
      '| `a` | `x` | one \\| two three |',
      '| `b` (required) |  | req |',
    ]);
    expect(tables.outputs.split('\n').at(-1)).toBe('| `o` | out |');
  });

  it('refuses a README without markers', () => {
    expect(() => replaceBetween('# no markers', 'inputs', 'x')).toThrow(/inputs:start/);
  });
});
