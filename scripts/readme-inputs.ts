// Regenerates README.md's inputs and outputs tables from action.yml, the contract, so the two never
// disagree: `npm run docs` rewrites the tables between their markers; test/repo/readme-inputs.test.ts
// fails when someone changes one without the other.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

interface ActionYaml {
  inputs?: Record<string, { description?: string; default?: string; required?: boolean }>;
  outputs?: Record<string, { description?: string }>;
}

/** A table cell: one line, pipes escaped, so any description fits. */
function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

/** The inputs and outputs tables for an action.yml text. */
export function renderTables(actionYaml: string): { inputs: string; outputs: string } {
  const action = parse(actionYaml) as ActionYaml;
  const inputs = Object.entries(action.inputs ?? {}).map(([name, input]) => {
    const fallback =
      input.default === undefined || input.default === '' ? '' : `\`${cell(String(input.default))}\``;
    const required = input.required ? ' (required)' : '';
    return `| \`${name}\`${required} | ${fallback} | ${cell(input.description ?? '')} |`;
  });
  const outputs = Object.entries(action.outputs ?? {}).map(
    ([name, output]) => `| \`${name}\` | ${cell(output.description ?? '')} |`,
  );
  return {
    inputs: ['| Input | Default | Description |', '| --- | --- | --- |', ...inputs].join('\n'),
    outputs: ['| Output | Description |', '| --- | --- |', ...outputs].join('\n'),
  };
}

/** Replaces what lies between `<!-- name:start -->` and `<!-- name:end -->`; throws when a marker is missing. */
export function replaceBetween(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md lacks the markers ${start} … ${end}`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

/** README text with both tables regenerated from action.yml. */
export function updateReadme(readme: string, actionYaml: string): string {
  const tables = renderTables(actionYaml);
  return replaceBetween(replaceBetween(readme, 'inputs', tables.inputs), 'outputs', tables.outputs);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readme = readFileSync('README.md', 'utf8');
  const updated = updateReadme(readme, readFileSync('action.yml', 'utf8'));
  if (updated === readme) console.log('README.md tables already match action.yml.');
  else {
    writeFileSync('README.md', updated);
    console.log('README.md tables regenerated from action.yml.');
  }
}
