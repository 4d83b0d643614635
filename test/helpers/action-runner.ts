/**
 * Runs the built action (dist/main or dist/post) the way GitHub's runner does, so end-to-end tests
 * exercise exactly what users run: INPUT_<NAME> variables with action.yml's defaults filled in,
 * the file commands (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY)
 * read back after the step, STATE_<name> for the post step, a job environment carried from step
 * to step, and the runner's cancellation sequence (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after).
 *
 * Safety: the child never sees the caller's AWS credentials or profile, the instance metadata
 * service is disabled, and unless a test names an endpoint every AWS call goes to a closed port
 * on 127.0.0.1, so nothing can reach real AWS.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The action's runtime (node24) from the `node` package when installed, else the current node. */
export const nodeBinary = existsSync(join(repoRoot, 'node_modules/.bin/node'))
  ? join(repoRoot, 'node_modules/.bin/node')
  : process.execPath;

/** What stays the same across the steps of one job; every ActionRun carries it on. */
export interface JobContext {
  /** Holds RUNNER_TEMP and each step's command files; remove it with removeJob. */
  readonly dir: string;
  readonly runnerTemp: string;
  /** The GITHUB_* and RUNNER_* variables of the job. */
  readonly vars: Readonly<Record<string, string>>;
  /** Everything earlier steps wrote to GITHUB_ENV. */
  readonly env: Readonly<Record<string, string>>;
  /** Everything earlier steps wrote to GITHUB_PATH, most recent first. */
  readonly path: readonly string[];
}

export interface Annotation {
  readonly level: 'error' | 'warning' | 'notice';
  readonly message: string;
  readonly properties: Readonly<Record<string, string>>;
}

export interface ActionRun {
  /** The `with:` the step was given (before defaults). */
  readonly inputs: Readonly<Record<string, string>>;
  /** null when the process was ended by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputs: Readonly<Record<string, string>>;
  /** What the step saved for its post step (GITHUB_STATE). */
  readonly state: Readonly<Record<string, string>>;
  /** What this step wrote to GITHUB_ENV. */
  readonly env: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly annotations: readonly Annotation[];
  /** Values registered with ::add-mask::. */
  readonly masks: readonly string[];
  /** The job after this step, for the next step (or the post step). */
  readonly job: JobContext;
}

export interface RunActionOptions {
  readonly entry: 'main' | 'post';
  /**
   * The step's `with:`; inputs not given get action.yml's default, as the runner does. A post step
   * gets its main step's `with:` (stateFrom) when none is given, as on GitHub.
   */
  readonly inputs?: Readonly<Record<string, string>>;
  /** The step's `env:`; it wins over the job environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** GITHUB_WORKSPACE and the working directory; the repository root by default. */
  readonly cwd?: string;
  /** SIGKILL after this long (default 120 s); the run is marked timedOut. */
  readonly timeoutMs?: number;
  /** Aborting cancels the step the way the runner does (see ActionHandle.cancel). */
  readonly signal?: AbortSignal;
  /** For the post step: the main step whose GITHUB_STATE becomes STATE_<name>. */
  readonly stateFrom?: ActionRun;
  /** An earlier step of the same job (its environment, PATH and RUNNER_TEMP carry on). */
  readonly after?: ActionRun;
  /** Overrides the bundle (tests of the harness itself). */
  readonly script?: string;
}

export interface ActionHandle {
  readonly pid: number | undefined;
  /** Sends one signal now. */
  kill(signal: NodeJS.Signals): void;
  /** The runner's cancellation: SIGINT, then SIGTERM 7.5 s later, then SIGKILL 2.5 s after that. */
  cancel(): void;
  /** Resolves once stdout has printed a match (to signal the step at a chosen moment); rejects if it ends first. */
  waitFor(pattern: string | RegExp): Promise<void>;
  readonly done: Promise<ActionRun>;
}

/** Runner's delays between the signals of a cancellation. */
export const CancelDelaysMs = { sigterm: 7_500, sigkill: 2_500 } as const;

interface ActionYaml {
  inputs?: Record<string, { default?: string }>;
}
let actionDefaults: Record<string, string> | undefined;
/** action.yml's input defaults, read once. */
export function inputDefaults(): Record<string, string> {
  if (!actionDefaults) {
    const action = parse(readFileSync(join(repoRoot, 'action.yml'), 'utf8')) as ActionYaml;
    actionDefaults = Object.fromEntries(
      Object.entries(action.inputs ?? {}).map(([name, input]) => [name, String(input.default ?? '')]),
    );
  }
  return actionDefaults;
}

/** The variable name the runner gives an input: spaces become `_`, uppercased, hyphens kept. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** Parses a file-command file: `name=value` lines and `name<<DELIMITER` heredocs. */
export function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    const equals = line.indexOf('=');
    if (heredoc && (equals < 0 || equals > line.indexOf('<<'))) {
      const [, name = '', delimiter = ''] = heredoc;
      const end = lines.indexOf(delimiter, i + 1);
      if (end < 0) throw new Error(`Unterminated heredoc for "${name}" (delimiter ${delimiter})`);
      result[name] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (equals > 0) {
      result[line.slice(0, equals)] = line.slice(equals + 1);
    } else {
      throw new Error(`Malformed file-command line: ${JSON.stringify(line)}`);
    }
  }
  return result;
}

const unescapeData = (s: string): string =>
  s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string): string => unescapeData(s.replace(/%3A/g, ':').replace(/%2C/g, ','));

/** The annotations and masks among stdout's workflow commands (`::error file=a,line=1::message`). */
export function parseWorkflowCommands(stdout: string): { annotations: Annotation[]; masks: string[] } {
  const annotations: Annotation[] = [];
  const masks: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const match = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!match) continue;
    const [, command = '', props = '', data = ''] = match;
    if (command === 'add-mask') masks.push(unescapeData(data));
    if (command !== 'error' && command !== 'warning' && command !== 'notice') continue;
    const properties: Record<string, string> = {};
    for (const pair of props.split(',').filter(Boolean)) {
      const at = pair.indexOf('=');
      if (at > 0) properties[pair.slice(0, at)] = unescapeProperty(pair.slice(at + 1));
    }
    annotations.push({ level: command, message: unescapeData(data), properties });
  }
  return { annotations, masks };
}

// Variables of the test process that must not leak into the step: another runner's files and
// inputs when the tests themselves run in GitHub Actions, and any real AWS identity.
const INHERITED_EXCLUDE = /^(INPUT_|STATE_|GITHUB_|RUNNER_|ACTIONS_|AWS_)/;

function newJob(cwd: string): JobContext {
  const dir = mkdtempSync(join(tmpdir(), 'asg-rolling-job-'));
  const runnerTemp = join(dir, 'runner-temp');
  mkdirSync(runnerTemp);
  const runId = String(1_000_000 + Math.floor(Math.random() * 1_000_000));
  return {
    dir,
    runnerTemp,
    env: {},
    path: [],
    vars: {
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_RUN_ID: runId,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_RUN_NUMBER: '1',
      GITHUB_SHA: randomBytes(20).toString('hex'),
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REPOSITORY: 'octo-org/shop',
      GITHUB_REPOSITORY_OWNER: 'octo-org',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: 'https://api.github.com',
      GITHUB_WORKFLOW: 'deploy',
      GITHUB_JOB: 'deploy',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
      GITHUB_ACTION: '__asg-rolling',
      GITHUB_ACTION_REPOSITORY: 'octo-org/asg-rolling',
      GITHUB_WORKSPACE: cwd,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_NAME: 'test-runner',
      RUNNER_TEMP: runnerTemp,
    },
  };
}

/** Removes a job's temporary directory (RUNNER_TEMP and the steps' command files). */
export function removeJob(job: JobContext): void {
  rmSync(job.dir, { recursive: true, force: true });
}

/** Starts the step and returns at once: for tests that signal or cancel it midway. */
export function startAction(options: RunActionOptions): ActionHandle {
  const cwd = options.cwd ?? repoRoot;
  const job = options.after?.job ?? options.stateFrom?.job ?? newJob(cwd);
  const stepDir = mkdtempSync(join(job.dir, 'step-'));
  const files = {
    GITHUB_OUTPUT: join(stepDir, 'output'),
    GITHUB_STATE: join(stepDir, 'state'),
    GITHUB_ENV: join(stepDir, 'env'),
    GITHUB_PATH: join(stepDir, 'path'),
    GITHUB_STEP_SUMMARY: join(stepDir, 'summary'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');

  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !INHERITED_EXCLUDE.test(key)) env[key] = value;
  Object.assign(env, {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(job.dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(job.dir, 'no-aws-credentials'),
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  });
  Object.assign(env, job.vars, job.env, options.env ?? {}, files);
  if (job.path.length > 0) env.PATH = [...job.path, env.PATH ?? ''].join(delimiter);
  const given = options.inputs ?? options.stateFrom?.inputs ?? {};
  for (const [name, value] of Object.entries({ ...inputDefaults(), ...given }))
    env[inputVariable(name)] = value;
  if (options.entry === 'post' && options.stateFrom)
    for (const [name, value] of Object.entries(options.stateFrom.state)) env[`STATE_${name}`] = value;

  const script = options.script ?? join(repoRoot, 'dist', options.entry, 'index.js');
  const started = Date.now();
  const child = spawn(nodeBinary, [script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const watcher of watchers) watcher();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  let timedOut = false;
  const timers: NodeJS.Timeout[] = [];
  const kill = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const cancel = (): void => {
    kill('SIGINT');
    timers.push(setTimeout(() => kill('SIGTERM'), CancelDelaysMs.sigterm));
    timers.push(setTimeout(() => kill('SIGKILL'), CancelDelaysMs.sigterm + CancelDelaysMs.sigkill));
  };
  timers.push(
    setTimeout(() => {
      timedOut = true;
      kill('SIGKILL');
    }, options.timeoutMs ?? 120_000),
  );
  if (options.signal?.aborted) cancel();
  else options.signal?.addEventListener('abort', cancel, { once: true });

  const done = new Promise<ActionRun>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', cancel);
      try {
        const read = (file: string): string => readFileSync(file, 'utf8');
        const stepEnv = parseCommandFile(read(files.GITHUB_ENV));
        const addedPath = read(files.GITHUB_PATH).split(/\r?\n/).filter(Boolean).reverse();
        const { annotations, masks } = parseWorkflowCommands(stdout);
        resolvePromise({
          inputs: given,
          exitCode,
          signal,
          timedOut,
          durationMs: Date.now() - started,
          stdout,
          stderr,
          outputs: parseCommandFile(read(files.GITHUB_OUTPUT)),
          state: parseCommandFile(read(files.GITHUB_STATE)),
          env: stepEnv,
          summary: read(files.GITHUB_STEP_SUMMARY),
          annotations,
          masks,
          job: { ...job, env: { ...job.env, ...stepEnv }, path: [...addedPath, ...job.path] },
        });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
  const waitFor = (pattern: string | RegExp): Promise<void> =>
    new Promise((resolveWait, rejectWait) => {
      const matches = (): boolean =>
        typeof pattern === 'string' ? stdout.includes(pattern) : pattern.test(stdout);
      const check = (): void => {
        if (!matches()) return;
        watchers.delete(check);
        resolveWait();
      };
      watchers.add(check);
      check();
      void done.then(
        () => rejectWait(new Error(`The step ended before printing ${String(pattern)}`)),
        rejectWait,
      );
    });
  return { pid: child.pid, kill, cancel, waitFor, done };
}

/** Runs one step to its end. */
export function runAction(options: RunActionOptions): Promise<ActionRun> {
  return startAction(options).done;
}
