/**
 * The reusable workflows, sub-actions and examples are a contract too: the cap only works if deploy,
 * cleanup and drain land in the same concurrency group, and an example only helps if what it passes
 * exists in what it calls. Expressions are evaluated with GitHub's own expression library.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import type { FileProvider } from '@actions/workflow-parser/workflows/file-provider';
import type { FileReference } from '@actions/workflow-parser/workflows/file-reference';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

// workflow-parser imports its JSON schemas without `with { type: 'json' }`, which Node refuses;
// the hook adds the attribute for that package's JSON files only (as test/helpers/workflow-lint.ts).
registerHooks({
  load(url, context, nextLoad) {
    if (url.endsWith('.json') && url.includes('/@actions/workflow-parser/'))
      return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
    return nextLoad(url, context);
  },
});
const { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } =
  await import('@actions/workflow-parser');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const Repository = 'asg-rolling/asg-rolling';
const reusable = ['rolling-deploy', 'rolling-cleanup', 'rolling-drain'] as const;

type Doc = Record<string, unknown>;

function load(path: string): Doc {
  return parse(readFileSync(join(root, path), 'utf8')) as Doc;
}

function obj(value: unknown): Doc {
  return value && typeof value === 'object' ? (value as Doc) : {};
}

const action = load('action.yml');
const actionInputs = obj(action.inputs);
const actionOutputs = obj(action.outputs);
const workflows = Object.fromEntries(reusable.map((name) => [name, load(`.github/workflows/${name}.yml`)]));

function onlyJob(workflow: Doc): [string, Doc] {
  const jobs = Object.entries(obj(workflow.jobs));
  expect(jobs).toHaveLength(1);
  const [id, job] = jobs[0]!;
  return [id, obj(job)];
}

function callInputs(workflow: Doc): Doc {
  return obj(obj(obj(workflow.on).workflow_call).inputs);
}

function callSecrets(workflow: Doc): Doc {
  return obj(obj(obj(workflow.on).workflow_call).secrets);
}

function toData(value: unknown): data.ExpressionData {
  if (typeof value === 'string') return new data.StringData(value);
  if (typeof value === 'number') return new data.NumberData(value);
  if (typeof value === 'boolean') return new data.BooleanData(value);
  return new data.Dictionary(...Object.entries(obj(value)).map(([key, v]) => ({ key, value: toData(v) })));
}

/** Evaluates a string with `${{ }}` parts the way the runner does, with the given contexts. */
function evaluate(template: string, contexts: Record<string, Doc>): string {
  const names = Object.keys(contexts);
  const context = toData(contexts) as data.Dictionary;
  return template.replace(/\$\{\{(.*?)\}\}/g, (_, source: string) => {
    const lexed = new Lexer(source.trim()).lex();
    const expr = new Parser(lexed.tokens, names, []).parse();
    return new Evaluator(expr, context).evaluate().coerceString();
  });
}

function concurrency(workflow: Doc): Doc {
  return obj(onlyJob(workflow)[1].concurrency);
}

/** The step that runs this action (at any ref) in a job. */
function actionStep(job: Doc): Doc {
  const steps = (job.steps as Doc[]).filter((step) => String(step.uses ?? '').startsWith(`${Repository}@`));
  expect(steps).toHaveLength(1);
  return steps[0]!;
}

describe('reusable workflows: the cap', () => {
  it.each(['production', 'staging-eu', 'qa 2'])(
    'put deploy, cleanup and drain of %s in one group',
    (environment) => {
      const groups = reusable.map((name) =>
        evaluate(String(concurrency(workflows[name]!).group), { inputs: { environment } }),
      );
      expect(groups).toEqual([0, 1, 2].map(() => `asg-rolling-${environment}`));
    },
  );

  it('gives different environments different groups', () => {
    const group = String(concurrency(workflows['rolling-deploy']!).group);
    expect(evaluate(group, { inputs: { environment: 'staging' } })).not.toBe(
      evaluate(group, { inputs: { environment: 'production' } }),
    );
  });

  it.each(reusable)('%s never cancels a run in progress', (name) => {
    expect(concurrency(workflows[name]!)['cancel-in-progress']).toBe(false);
  });

  it.each(reusable)(
    '%s holds the group on its job, never at workflow level (caller/callee deadlock)',
    (name) => {
      expect(workflows[name]!.concurrency).toBeUndefined();
      expect(concurrency(workflows[name]!).group).toBeDefined();
    },
  );

  it.each(reusable)('%s queues every run unless asked for newest-wins', (name) => {
    const queue = String(concurrency(workflows[name]!).queue);
    const mode = (value: string): string => evaluate(queue, { inputs: { queue: value } });
    expect(mode('all')).toBe('max');
    expect(mode('newest')).toBe('single');
    // A typo must not silently drop deploys: anything but `newest` queues.
    expect(mode('newset')).toBe('max');
    expect(callInputs(workflows[name]!).queue).toMatchObject({ type: 'string', default: 'all' });
  });
});

/** Inputs the reusable workflow takes as secrets (the token falls back to the job's own). */
const SecretInputs = ['ssh-private-key', 'github-token'];

describe('rolling-deploy.yml', () => {
  const workflow = workflows['rolling-deploy']!;
  const inputs = callInputs(workflow);
  const [jobId, job] = onlyJob(workflow);

  it('mirrors every input of the action with the same default and a fitting type', () => {
    for (const [name, spec] of Object.entries(actionInputs)) {
      if (SecretInputs.includes(name)) continue;
      const def = String(obj(spec).default);
      const input = obj(inputs[name]);
      expect(input, name).not.toEqual({});
      if (name === 'aws-region') {
        expect(input.required).toBe(true);
        continue;
      }
      const type = /^\d+$/.test(def) ? 'number' : def === 'true' || def === 'false' ? 'boolean' : 'string';
      expect([name, input.type]).toEqual([name, type]);
      expect([name, String(input.default)]).toEqual([name, def]);
    }
    for (const name of SecretInputs) expect(obj(callSecrets(workflow)[name]).required).toBe(false);
  });

  it('forwards every input to the action, the key as a secret', () => {
    const withs = obj(actionStep(job).with);
    expect(Object.keys(withs).sort()).toEqual(Object.keys(actionInputs).sort());
    for (const name of Object.keys(actionInputs)) {
      const expected = SecretInputs.includes(name) ? `\${{ secrets.${name}` : `\${{ inputs.${name} }}`;
      expect(String(withs[name])).toContain(expected);
    }
  });

  it("exposes every output of the action as the workflow's output", () => {
    const outputs = obj(obj(obj(workflow.on).workflow_call).outputs);
    const step = String(actionStep(job).id);
    expect(Object.keys(outputs).sort()).toEqual(Object.keys(actionOutputs).sort());
    for (const name of Object.keys(actionOutputs)) {
      expect(obj(outputs[name]).value).toBe(`\${{ jobs.${jobId}.outputs.${name} }}`);
      expect(obj(job.outputs)[name]).toBe(`\${{ steps.${step}.outputs.${name} }}`);
    }
  });

  it('runs in the GitHub Environment with least privilege for OIDC', () => {
    expect(obj(job.environment).name).toBe('${{ inputs.environment }}');
    expect(obj(inputs.environment).required).toBe(true);
    expect(workflow.permissions).toEqual({});
    expect(job.permissions).toEqual({ contents: 'read', 'id-token': 'write', deployments: 'write' });
    const uses = (job.steps as Doc[]).map((step) => String(step.uses ?? ''));
    expect(uses.some((u) => u.startsWith('aws-actions/configure-aws-credentials@'))).toBe(true);
    expect(uses.some((u) => u.startsWith('actions/download-artifact@'))).toBe(true);
    expect(uses.some((u) => u.startsWith('actions/checkout@'))).toBe(true);
  });
});

describe('rolling-cleanup.yml and rolling-drain.yml', () => {
  it('cleanup runs the cleanup command with its inputs', () => {
    const [, job] = onlyJob(workflows['rolling-cleanup']!);
    const withs = obj(actionStep(job).with);
    expect(withs.command).toBe('cleanup');
    for (const name of ['asg-names', 'asg-tags', 'cleanup-keep', 'orphan-age', 'dry-run', 'aws-region']) {
      expect(withs[name], name).toBe(`\${{ inputs.${name} }}`);
      expect(callInputs(workflows['rolling-cleanup']!)[name], name).toBeDefined();
    }
  });

  it('drain waits for idle groups, then holds the group', () => {
    const [, job] = onlyJob(workflows['rolling-drain']!);
    const steps = job.steps as Doc[];
    const wait = steps.indexOf(actionStep(job));
    expect(obj(steps[wait]!.with).command).toBe('wait-idle');
    const hold = steps.findIndex((step) => String(step.run ?? '').includes('sleep'));
    expect(hold).toBeGreaterThan(wait);
    expect(job['timeout-minutes']).toBeDefined();
    // Dispatch by hand offers the same inputs as a call.
    const on = obj(workflows['rolling-drain']!.on);
    expect(Object.keys(obj(obj(on.workflow_dispatch).inputs)).sort()).toEqual(
      Object.keys(callInputs(workflows['rolling-drain']!)).sort(),
    );
  });

  it('every workflow uses the action at one ref, so a release rewrites it in one go', () => {
    const refs = reusable.map((name) => String(actionStep(onlyJob(workflows[name]!)[1]).uses));
    expect(new Set(refs).size).toBe(1);
  });
});

describe('split-mode sub-actions', () => {
  it.each(['setup', 'finalize'])('%s/action.yml reuses the bundles with command fixed to %s', (command) => {
    const sub = load(`${command}/action.yml`);
    const runs = obj(sub.runs);
    expect(runs).toMatchObject({
      using: obj(action.runs).using,
      post: '../dist/post/index.js',
      'post-if': 'always()',
    });
    expect(runs.main).toBe('../dist/main/index.js');
    expect(resolve(root, command, String(runs.main))).toBe(resolve(root, String(obj(action.runs).main)));
    expect(resolve(root, command, String(runs.post))).toBe(resolve(root, String(obj(action.runs).post)));
    const inputs = obj(sub.inputs);
    expect(obj(inputs.command).default).toBe(command);
    for (const [name, spec] of Object.entries(inputs)) {
      if (name === 'command') continue;
      expect(actionInputs[name], name).toBeDefined();
      expect([name, obj(spec).default]).toEqual([name, obj(actionInputs[name]).default]);
    }
    for (const name of Object.keys(obj(sub.outputs))) expect(actionOutputs[name], name).toBeDefined();
  });
});

describe('examples', () => {
  const files = readdirSync(join(root, 'examples')).filter((f) => /\.ya?ml$/.test(f));
  const ourWorkflow = new RegExp(`^${Repository}/\\.github/workflows/([\\w-]+\\.yml)@`);
  const ourAction = new RegExp(`^${Repository}(/(setup|finalize))?@`);

  it('exist for every documented scenario', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s passes only inputs and secrets our workflows and actions declare', (file) => {
    const example = load(`examples/${file}`);
    for (const [id, jobValue] of Object.entries(obj(example.jobs))) {
      const job = obj(jobValue);
      const called = ourWorkflow.exec(String(job.uses ?? ''));
      if (called) {
        const target = load(`.github/workflows/${called[1]}`);
        const inputs = callInputs(target);
        const withs = obj(job.with);
        for (const name of Object.keys(withs))
          expect(inputs[name], `${file} ${id}: input ${name}`).toBeDefined();
        for (const [name, spec] of Object.entries(inputs))
          if (obj(spec).required === true)
            expect(withs[name], `${file} ${id}: required ${name}`).toBeDefined();
        if (job.secrets !== 'inherit')
          for (const name of Object.keys(obj(job.secrets)))
            expect(callSecrets(target)[name], `${file} ${id}: secret ${name}`).toBeDefined();
        // The caller must not hold the callee's group itself: that is the deadlock.
        for (const holder of [example.concurrency, job.concurrency]) {
          const group = typeof holder === 'string' ? holder : String(obj(holder).group ?? '');
          expect(group.startsWith('asg-rolling-'), `${file} ${id}: caller holds ${group}`).toBe(false);
        }
      }
      for (const step of (job.steps as Doc[] | undefined) ?? []) {
        const used = ourAction.exec(String(step.uses ?? ''));
        if (!used) continue;
        const manifest = load(used[2] ? `${used[2]}/action.yml` : 'action.yml');
        for (const name of Object.keys(obj(step.with)))
          expect(
            obj(manifest.inputs)[name],
            `${file} ${id}: ${String(step.uses)} input ${name}`,
          ).toBeDefined();
      }
    }
  });

  /** Serves our reusable workflows from this checkout, as GitHub would from the release. */
  const localWorkflows: FileProvider = {
    getFileContent: async (ref: FileReference) => {
      if (!('repository' in ref) || `${ref.owner}/${ref.repository}` !== Repository)
        throw new Error(`unexpected reference ${JSON.stringify(ref)}`);
      const path = join(root, ref.path);
      if (!existsSync(path)) throw new Error(`no ${ref.path}`);
      return { name: ref.path, content: readFileSync(path, 'utf8') };
    },
  };

  it.each(files)("%s converts with GitHub's workflow parser, the called workflows included", async (file) => {
    const content = readFileSync(join(root, 'examples', file), 'utf8');
    const parsed = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    const template = await convertWorkflowTemplate(parsed.context, parsed.value!, localWorkflows, {
      fetchReusableWorkflowDepth: 1,
    });
    expect((template.errors ?? []).map((e) => e.Message)).toEqual([]);
  });

  it('the parser would catch an input our workflow does not declare', async () => {
    const content = readFileSync(join(root, 'examples', 'deploy-manual.yml'), 'utf8').replace(
      'ssh-user: deploy',
      'ssh-usr: deploy',
    );
    const parsed = parseWorkflow({ name: 'typo.yml', content }, new NoOperationTraceWriter());
    const template = await convertWorkflowTemplate(parsed.context, parsed.value!, localWorkflows, {
      fetchReusableWorkflowDepth: 1,
    });
    expect((template.errors ?? []).map((e) => e.Message).join('\n')).toMatch(/ssh-usr/);
  });
});
