/** The input defaults (as action.yml declares them) and list parsing. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InputDefaults, parseList } from '../../../src/config/fields.js';
import { Inputs } from '../../../src/lib/constants.js';

describe('InputDefaults', () => {
  it('equals the defaults in action.yml, input by input', () => {
    const action = parse(readFileSync('action.yml', 'utf8')) as {
      inputs: Record<string, { default?: string }>;
    };
    const fromAction = Object.fromEntries(
      Object.entries(action.inputs).map(([k, v]) => [k, v.default ?? '']),
    );
    expect(InputDefaults).toEqual(fromAction);
    expect(Object.keys(fromAction).sort()).toEqual(Object.values(Inputs).sort());
  });
});

describe('parseList', () => {
  it.each([
    ['a,b', ['a', 'b']],
    [' a \n\n b ,, c ', ['a', 'b', 'c']],
    ['', []],
    [',\n,', []],
  ])('%j', (text, items) => expect(parseList(text)).toEqual(items));
});
