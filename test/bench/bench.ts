/**
 * `npm run bench`: the bundled action (dist/) against the simulator and a real sshd for N = 1…256
 * groups, printed as Markdown tables: wall time against the physical limit, serial against
 * parallel, API requests per group, throttling, memory, and where the time beyond the limit went.
 *
 *   npm run bench                     # the full run (a few minutes on 2 cores)
 *   npm run bench -- --quick          # N = 1 and 4, seconds (the end-to-end test runs this)
 *   npm run bench -- --n 1,16 --time-scale 0.05 --seed 7 --throttle-n 0 --recovery-n 0 --out results.md --logs logs/
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { nodeBinary, repoRoot } from '../helpers/action-runner.js';
import { startBenchEnv, type BenchEnv } from './env.js';
import { DefaultProfile, groupFactors, type LatencyProfile } from './fleet.js';
import { refreshBatches } from './ideal.js';
import { runScenario, type RunKind, type ScenarioResult } from './measure.js';
import { callsTable, failedGroups, lagTable, mainTable, recoveryTable, scenarioLabel } from './table.js';

export interface BenchOptions {
  readonly sizes: readonly number[];
  /** Also run `max-parallel: 1` for these sizes above 1 (serial runs take N pipelines each). */
  readonly serialUpTo: number;
  /** N of the run with AWS-like rate limits on; 0 for none. */
  readonly throttleN: number;
  /** N of the recovery runs (`rollback`, and a deploy whose AMI is reused); 0 for none. */
  readonly recoveryN: number;
  readonly timeScale: number;
  readonly seed: number;
  /** Per-group variation of boot, stop, image and refresh times: ±spread. */
  readonly spread: number;
  /** Keep every step's log and summary in this directory. */
  readonly logDir?: string;
}

/** The full benchmark: 1 simulated second = 20 ms, so one pipeline takes about 15 s. */
export const FullRun: BenchOptions = {
  sizes: [1, 4, 16, 64, 256],
  serialUpTo: 4,
  throttleN: 256,
  recoveryN: 16,
  timeScale: 0.02,
  seed: 42,
  spread: 0.3,
};

/** Seconds in all: one simulated second = 2 ms. */
export const QuickRun: BenchOptions = {
  ...FullRun,
  sizes: [1, 4],
  throttleN: 0,
  recoveryN: 4,
  timeScale: 0.002,
};

/** One run of the benchmark: how many groups, how parallel, throttled or not, and what it runs. */
export interface Scenario {
  readonly n: number;
  readonly maxParallel: number;
  readonly throttle: boolean;
  readonly kind: RunKind;
}

/** The runs of a benchmark, in order: parallel by size, then serial, then throttled, then recovery. */
export function scenarios(options: BenchOptions): Scenario[] {
  const deploy = (n: number, maxParallel: number, throttle = false): Scenario => ({
    n,
    maxParallel,
    throttle,
    kind: 'deploy',
  });
  const recovery = (kind: RunKind): Scenario => ({
    n: options.recoveryN,
    maxParallel: options.recoveryN,
    throttle: false,
    kind,
  });
  return [
    ...options.sizes.map((n) => deploy(n, n)),
    ...options.sizes.filter((n) => n > 1 && n <= options.serialUpTo).map((n) => deploy(n, 1)),
    ...(options.throttleN > 0 ? [deploy(options.throttleN, options.throttleN, true)] : []),
    ...(options.recoveryN > 0 ? [recovery('rollback'), recovery('reused')] : []),
  ];
}

function machine(): string {
  const actionNode = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const memory = `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
  return `${os.availableParallelism()} cores (${cpu}), ${memory}, ${os.type()} ${os.release()}; action on node ${actionNode}, benchmark on node ${process.version}`;
}

/**
 * Real ms of one deploy alone, from the action's own timeline: the median over a few one-group
 * runs (fast time scale; SSH work is real time whatever the scale). The ideal needs it because
 * the deploy is the one stage the latency model does not set.
 */
export async function calibrateDeploy(env: BenchEnv, runs = 3): Promise<number> {
  const spans: number[] = [];
  for (let i = 0; i < runs; i++) {
    const result = await runScenario({
      n: 1,
      maxParallel: 1,
      throttle: false,
      kind: 'deploy',
      profile: DefaultProfile,
      factors: groupFactors(1, { seed: 1, spread: 0 }),
      timeScale: QuickRun.timeScale,
      env,
      deployMs: 0,
      timeoutMs: 120_000,
    });
    if (failedGroups(result) > 0)
      throw new Error(`The calibration run failed: ${result.failures.join('; ')}`);
    spans.push(...result.deploySpans);
  }
  spans.sort((a, b) => a - b);
  return spans[Math.floor(spans.length / 2)] ?? 0;
}

function describeProfile(options: {
  readonly profile: LatencyProfile;
  readonly bench: BenchOptions;
  readonly deployMs: number;
  /** Taken before the first run: afterwards it mostly shows the benchmark's own load. */
  readonly loadAtStart: readonly number[];
}): string {
  const { profile: p, bench, deployMs } = options;
  const s = (ms: number): string => `${ms / 1000} s`;
  return [
    `- date: ${new Date().toISOString()}`,
    `- machine: ${machine()}, load average at start ${options.loadAtStart.map((l) => l.toFixed(2)).join(' ')}`,
    `- time scale: ${bench.timeScale} (1 simulated s = ${bench.timeScale * 1000} ms), poll intervals scaled alike (ASG_ROLLING_POLL_SCALE)`,
    `- per group: launch ${s(p.instancePending)}, sshd ${s(p.sshBoot)}, stop ${s(p.instanceStopping)}, AMI ${s(p.imageBase)} + ${p.imageGiB} GiB × ${s(p.imagePerGiB)}, ` +
      `refresh ${s(p.refreshPending)} + ${refreshBatches(p)} batch(es) × (${s(p.instancePending)} + warmup ${s(p.refreshWarmup)}); ` +
      `each ×(1 ± ${bench.spread}) per group, seed ${bench.seed}`,
    `- one deploy alone (the action's deploy phase: connect, upload, script): ${deployMs.toFixed(0)} ms real (median of 3 one-group runs)`,
  ].join('\n');
}

/** Runs every scenario and returns the report (Markdown) and whether every group succeeded everywhere. */
export async function runBench(
  options: BenchOptions,
  progress: (line: string) => void,
): Promise<{ report: string; results: ScenarioResult[]; ok: boolean }> {
  const loadAtStart = os.loadavg();
  const profile = DefaultProfile;
  const factors = groupFactors(Math.max(...options.sizes, options.throttleN, options.recoveryN), options);
  const env = await startBenchEnv();
  const results: ScenarioResult[] = [];
  try {
    const deployMs = await calibrateDeploy(env);
    progress(`one deploy alone: ${deployMs.toFixed(0)} ms`);
    for (const scenario of scenarios(options)) {
      const result = await runScenario({
        ...scenario,
        profile,
        factors,
        timeScale: options.timeScale,
        env,
        deployMs,
        timeoutMs: 20 * 60_000,
        ...(options.logDir ? { logDir: options.logDir } : {}),
      });
      results.push(result);
      progress(
        `${scenarioLabel(result)}: wall ${(result.wallMs / 1000).toFixed(2)} s, ideal ${(result.idealMs / 1000).toFixed(2)} s, ` +
          `${result.successful}/${result.n} refreshes Successful, ` +
          (result.kind === 'deploy' ? `${result.deployed} deployed` : `${result.bakes} baked`) +
          (result.failures.length ? `; first failure: ${result.failures[0]}` : ''),
      );
    }
    const report = [
      describeProfile({ profile, bench: options, deployMs, loadAtStart }),
      '',
      mainTable(results),
      '',
      callsTable(results),
      '',
      lagTable(results, options.timeScale),
      '',
      recoveryTable(results, options.timeScale),
      '',
    ].join('\n');
    return { report, results, ok: results.every((r) => failedGroups(r) === 0) };
  } finally {
    await env.stop();
  }
}

function parseOptions(argv: readonly string[]): { options: BenchOptions; out: string | undefined } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      n: { type: 'string' },
      'serial-up-to': { type: 'string' },
      'throttle-n': { type: 'string' },
      'recovery-n': { type: 'string' },
      'time-scale': { type: 'string' },
      seed: { type: 'string' },
      spread: { type: 'string' },
      out: { type: 'string' },
      logs: { type: 'string' },
    },
  });
  const base = values.quick ? QuickRun : FullRun;
  const number = (text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`Not a number: ${text}`);
    return value;
  };
  const sizes = values.n ? values.n.split(',').map((s) => number(s.trim(), 1)) : base.sizes;
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--n takes sizes ≥ 1: ${values.n}`);
  return {
    options: {
      sizes,
      serialUpTo: number(values['serial-up-to'], base.serialUpTo),
      throttleN: number(values['throttle-n'], base.throttleN),
      recoveryN: number(values['recovery-n'], base.recoveryN),
      timeScale: number(values['time-scale'], base.timeScale),
      seed: number(values.seed, base.seed),
      spread: number(values.spread, base.spread),
      ...(values.logs ? { logDir: path.resolve(values.logs) } : {}),
    },
    out: values.out,
  };
}

async function main(): Promise<void> {
  const { options, out } = parseOptions(process.argv.slice(2));
  if (!existsSync(path.join(repoRoot, 'dist/main/index.js')))
    throw new Error('dist/main/index.js is missing: run `npm run build` first');
  const { report, ok } = await runBench(options, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(report);
  if (out) writeFileSync(out, report);
  if (!ok) {
    process.stderr.write('Some groups failed: see "failed groups".\n');
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(repoRoot, 'test/bench/bench.ts')) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
