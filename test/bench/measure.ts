/**
 * One benchmark run: a fresh simulator with N groups, the bundled action run as the runner runs it
 * (dist/main, then dist/post, through the end-to-end harness), and what it cost: wall time, API
 * requests, throttling, peak memory, and per-stage detection lags.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { removeJob, runAction, startAction, type ActionRun } from '../helpers/action-runner.js';
import { freePort } from '../helpers/sshd.js';
import { startSimulator, type Simulator } from '../sim/index.js';
import { callStats, type CallStats } from './calls.js';
import { clearHosts, deployedInstances, DeployScript, UploadPath, type BenchEnv } from './env.js';
import {
  fleetFixture,
  groupName,
  latencyOverride,
  simulatorLatency,
  type GroupFactors,
  type LatencyProfile,
} from './fleet.js';
import { DefaultPollIntervals } from '../../src/phases/context.js';
import { idealOf, pipelineModel, refreshIdealOf } from './ideal.js';
import { groupLags, indexCalls, parseTimeline, type GroupLags } from './lag.js';
import { sampleProcess, type ProcessStats } from './process-stats.js';
import type { TemporaryInstance } from '../../src/config/hand-off.js';

/**
 * What a run measures: a deploy; a `rollback` after deploys of commits A and B (back to A's AMIs);
 * or a deploy of an unchanged commit after a first deploy of it (the AMIs are reused). The runs
 * before the measured one are not timed, and the call log starts afresh for the measured one.
 */
export type RunKind = 'deploy' | 'rollback' | 'reused';

export interface ScenarioOptions {
  readonly n: number;
  readonly maxParallel: number;
  /** AWS-like request-rate buckets on. */
  readonly throttle: boolean;
  readonly kind: RunKind;
  readonly profile: LatencyProfile;
  /** At least n entries: group i uses factors[i]. */
  readonly factors: readonly GroupFactors[];
  readonly timeScale: number;
  readonly env: BenchEnv;
  /** Real ms of one deploy alone (see calibrateDeploy), for the ideal. */
  readonly deployMs: number;
  /** The action is killed after this long. */
  readonly timeoutMs: number;
  /** Keep each step's stdout and summary here (for digging into a result). */
  readonly logDir?: string;
}

export interface ScenarioResult {
  readonly n: number;
  readonly maxParallel: number;
  readonly throttle: boolean;
  readonly kind: RunKind;
  /** CreateImage requests of the measured run (a recovery run must make none). */
  readonly bakes: number;
  /** Real ms from starting the main step to its exit. */
  readonly wallMs: number;
  readonly idealMs: number;
  /** The group with the slowest modelled pipeline. */
  readonly idealGroup: string;
  readonly exitCode: number | null;
  readonly postExitCode: number | null;
  /** Groups whose refresh ended Successful. */
  readonly successful: number;
  /** Distinct instances that logged a deploy. */
  readonly deployed: number;
  /** ::error:: annotations of both steps. */
  readonly failures: readonly string[];
  readonly calls: CallStats;
  /** Peak resident set of the main step (VmHWM), KiB. */
  readonly peakRssKiB: number;
  /** CPU time of the main step, ms. */
  readonly cpuMs: number;
  readonly lags: readonly GroupLags[];
  /**
   * Real ms from spawning the step to its first call that acts (RunInstances for a deploy,
   * StartInstanceRefresh for a recovery run), and from the last refresh seen to its exit.
   */
  readonly headMs: number;
  readonly tailMs: number;
  /** Real ms of each deploy, from the action's timeline. */
  readonly deploySpans: readonly number[];
}

/** The `instances` output's element, as the action writes it (the type keeps this file in step). */
type InstanceOutput = Pick<TemporaryInstance, 'instanceId' | 'sourceImageId' | 'groups'>;
interface AmiOutput {
  imageId: string;
  sourceImageId: string;
}
interface RefreshOutput {
  group: string;
  status: string;
}

/** The commits deployed, untimed, before the measured run of each kind. */
const PreparedCommits: Readonly<Record<RunKind, readonly string[]>> = {
  deploy: [],
  rollback: ['a', 'b'],
  reused: ['a'],
};

const parse = <T>(run: ActionRun, name: string): T[] => JSON.parse(run.outputs[name] || '[]') as T[];

/** Runs the action once over a fresh fleet of `n` groups. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const { n, profile, timeScale, env } = options;
  const factors = options.factors.slice(0, n);
  const gatePort = await freePort();
  const sim = await startSimulator({
    timeScale,
    fixture: fleetFixture(n, profile),
    latency: simulatorLatency(profile),
    throttle: { enabled: options.throttle },
    sshPort: gatePort,
    sshTarget: { host: env.sshd.host, port: env.sshd.port },
  });
  // Relative: each simulated instance's home is its own directory (see env.ts).
  const remote = `${options.kind}-${n}-${options.maxParallel}-${options.throttle ? 'throttled' : 'free'}`;
  const runs: ActionRun[] = [];
  try {
    sim.setLatency({ override: latencyOverride({ sim, seeded: sim.seeded, profile, factors }) });
    const awsEnv = {
      AWS_ENDPOINT_URL: sim.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      ASG_ROLLING_POLL_SCALE: String(timeScale),
    };
    const inputs = {
      'asg-tags': 'app=bench',
      'max-parallel': String(options.maxParallel),
      'ssh-user': env.sshd.user,
      'ssh-private-key': env.sshd.privateKey,
      'ssh-port': String(gatePort),
      'ssh-address': 'private',
      'ssh-timeout': '120',
      upload: UploadPath,
      'upload-dir': remote,
      'deploy-script': DeployScript,
      'min-healthy-percentage': String(profile.minHealthyPercentage),
      'max-healthy-percentage': String(profile.maxHealthyPercentage),
    };
    const commit = (name: string): string => name.repeat(40);
    for (const sha of PreparedCommits[options.kind]) {
      const before = await runAction({
        entry: 'main',
        cwd: env.workspace,
        timeoutMs: options.timeoutMs,
        env: { ...awsEnv, GITHUB_SHA: commit(sha) },
        inputs,
      });
      removeJob(before.job);
      if (before.exitCode !== 0)
        throw new Error(
          `The deploy of commit ${sha} before the ${options.kind} run failed: ${before.stdout}`,
        );
    }
    sim.clearCalls();
    const started = performance.now();
    const handle = startAction({
      entry: 'main',
      cwd: env.workspace,
      timeoutMs: options.timeoutMs,
      // A reused deploy ships the commit deployed before; a rollback names no commit of its own.
      env: { ...awsEnv, ...(options.kind === 'reused' ? { GITHUB_SHA: commit('a') } : {}) },
      inputs: options.kind === 'rollback' ? { ...inputs, command: 'rollback' } : inputs,
    });
    const sampler = sampleProcess(handle.pid);
    const main = await handle.done;
    const wallMs = performance.now() - started;
    const stats = sampler.stop();
    runs.push(main);
    const post = await runAction({ entry: 'post', stateFrom: main, env: awsEnv, timeoutMs: 60_000 });
    runs.push(post);
    if (options.logDir) await keepLogs(options.logDir, remote, [main, post]);
    return await analyse({ options, sim, main, post, wallMs, stats, started, remote, factors });
  } finally {
    // The post step ran in the main step's job: one directory holds both.
    if (runs[0]) removeJob(runs[0].job);
    await sim.stop();
    await clearHosts(env);
  }
}

async function keepLogs(dir: string, name: string, steps: readonly ActionRun[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const [main, post] = steps;
  await writeFile(path.join(dir, `${name}.main.log`), `${main?.stdout ?? ''}\n${main?.stderr ?? ''}`);
  await writeFile(path.join(dir, `${name}.summary.md`), main?.summary ?? '');
  await writeFile(path.join(dir, `${name}.post.log`), `${post?.stdout ?? ''}\n${post?.stderr ?? ''}`);
}

async function analyse(run: {
  readonly options: ScenarioOptions;
  readonly sim: Simulator;
  readonly main: ActionRun;
  readonly post: ActionRun;
  readonly wallMs: number;
  readonly stats: ProcessStats;
  /** performance.now() when the step was spawned. */
  readonly started: number;
  readonly remote: string;
  readonly factors: readonly GroupFactors[];
}): Promise<ScenarioResult> {
  const { options, sim, main, post, factors } = run;
  const { profile, timeScale, deployMs, n } = options;
  const refreshes = parse<RefreshOutput>(main, 'instance-refreshes');
  const instances = parse<InstanceOutput>(main, 'instances');
  const amis = parse<AmiOutput>(main, 'amis');
  const deployedIds = await deployedInstances(options.env, run.remote);
  const calls = indexCalls(sim.calls);
  const spans = parseTimeline(main.summary);
  const templates = sim.seeded.launchTemplates;
  const refreshEnd = new Map<string, number>();
  for (const record of sim.state.refreshes.values()) {
    const { AutoScalingGroupName: group, EndTime: end } = record.refresh;
    if (group && end) refreshEnd.set(group, new Date(end).getTime());
  }
  const lags = factors.map((f, i): GroupLags => {
    const group = groupName(i);
    const instance = instances.find((x) => x.groups.includes(group));
    const model = pipelineModel({ profile, factors: f, deployMs, timeScale });
    return groupLags({
      calls,
      spans,
      trace: {
        group,
        sourceImageId: instance?.sourceImageId ?? '',
        factors: f,
        launchTemplateId: templates[`bench-lt-${i}`] ?? '',
        instanceId: instance?.instanceId ?? '',
        amiId: amis.find((a) => a.sourceImageId === instance?.sourceImageId)?.imageId ?? '',
        refreshEndedAt: refreshEnd.get(group),
      },
      profile,
      timeScale,
      deployMs,
      refreshModelMs: (model.stages.refresh - (profile.api.StartInstanceRefresh ?? 0)) * timeScale,
    });
  });
  // Wall-clock epoch of the spawn, to compare with the call log's timestamps.
  const spawnedAt = Date.now() - (performance.now() - run.started);
  // The launch itself, not the preflight's DryRun of it (which counts towards the overhead before it);
  // a recovery run launches nothing, so its head ends at its first refresh.
  const firstAction = options.kind === 'deploy' ? 'RunInstances' : 'StartInstanceRefresh';
  const firstLaunch = calls.find((c) => c.action === firstAction && c.params.DryRun !== true);
  const lastSeen = Math.max(
    ...calls.filter((c) => c.action === 'DescribeInstanceRefreshes').map((c) => c.end),
    firstLaunch?.end ?? 0,
  );
  const ideal =
    options.kind === 'deploy'
      ? idealOf({ profile, factors, deployMs, timeScale })
      : refreshIdealOf({ profile, factors, timeScale, pollMs: DefaultPollIntervals.refreshMs });
  return {
    n,
    maxParallel: options.maxParallel,
    throttle: options.throttle,
    kind: options.kind,
    bakes: sim.sent('CreateImage').length,
    wallMs: run.wallMs,
    idealMs: ideal.ms,
    idealGroup: groupName(ideal.group),
    exitCode: main.exitCode,
    postExitCode: post.exitCode,
    successful: refreshes.filter((r) => r.status === 'Successful').length,
    deployed: new Set(deployedIds).size,
    failures: [...main.annotations, ...post.annotations]
      .filter((a) => a.level === 'error')
      .map((a) => a.message),
    calls: callStats(sim.calls),
    peakRssKiB: run.stats.peakRssKiB,
    cpuMs: run.stats.cpuMs,
    lags,
    headMs: firstLaunch ? firstLaunch.start - spawnedAt : Number.NaN,
    tailMs: spawnedAt + run.wallMs - lastSeen,
    deploySpans: spans.filter((s) => s.phase === 'deploy').map((s) => s.end - s.start),
  };
}
