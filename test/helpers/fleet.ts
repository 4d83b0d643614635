/**
 * What every end-to-end test of the built action shares: a simulator whose instance addresses
 * forward SSH to one real OpenSSH sshd on 127.0.0.1, a workspace with a build and deploy scripts,
 * and the action's steps (dist/main, dist/post) run through the runner-faithful harness with the
 * standard environment (simulator endpoint, us-east-1, test credentials, scaled polls).
 *
 * Every simulated instance forwards to the same sshd, so all deploys share one file system: each
 * run gets its own `upload-dir`, and the deploys of one run upload into it at the same time (the SSH
 * module makes that safe; real instances never share a disk anyway).
 *
 * The steps run dist/ as built: run `npm run build` after changing src/ (CI checks dist/ first).
 * ASG_ROLLING_E2E_DIST=<dir> runs another build instead (`node scripts/build.mjs <dir>`).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Instance } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { Roles, Tags } from '../../src/aws/tags.js';
import {
  removeJob,
  startAction,
  type ActionHandle,
  type ActionRun,
  type RunActionOptions,
} from './action-runner.js';
import { startInProcessSshServer } from './ssh-server.js';
import { freePort, sshdAvailable, startSshd, type TestSshServer } from './sshd.js';
import {
  startSimulator,
  type CallRecord,
  type Fixture,
  type SeedResult,
  type Simulator,
} from '../sim/index.js';

/** 1 simulated second = 1 real millisecond: a whole deploy takes a few real seconds. */
export const TimeScale = 0.001;
/** Poll intervals × 0.005: instances every 10 ms, AMIs 25 ms, refreshes 50 ms, SSH 5 ms. */
export const PollScale = '0.005';
/** Room for a loaded 2-core machine; a healthy step ends in a few seconds. */
export const StepTimeoutMs = 150_000;

/**
 * shop-web and shop-api share template lt-web and its image (one temporary instance, one AMI);
 * shop-worker has its own template and image. shop-web follows $Default, so a deploy also promotes.
 */
export const threeGroups: Fixture = {
  images: [{ name: 'base-web' }, { name: 'base-worker' }],
  launchTemplates: [
    { name: 'lt-web', versions: [{ imageName: 'base-web' }] },
    { name: 'lt-worker', versions: [{ imageName: 'base-worker' }] },
  ],
  groups: [
    { name: 'shop-web', launchTemplate: { name: 'lt-web', version: '$Default' }, tags: { app: 'shop' } },
    { name: 'shop-api', launchTemplate: { name: 'lt-web', version: '1' }, tags: { app: 'shop' } },
    { name: 'shop-worker', launchTemplate: { name: 'lt-worker', version: '1' }, tags: { app: 'shop' } },
  ],
};

/** Simulated ms a fresh instance or image stays unseen by describes (eventual consistency). */
export const FreshWindowMs = 2_000;

/** Writes `$ASG_ROLLING_INSTANCE_ID $ASG_ROLLING_GROUPS` to deployed.log in upload-dir. */
export const DeployScript = 'deploy.sh';
/** Writes two lines to stderr and exits 3. */
export const FailingScript = 'fail.sh';
export const FailingScriptStderr = 'migration 42 failed: disk full on /var';

export interface StepOptions {
  /** An earlier step of the same job (its GITHUB_ENV applies). */
  readonly after?: ActionRun;
  /** Extra step env, over the standard one. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The EC2 Instance Connect Endpoint an `instanceConnect` fleet has in its instances' VPC (re-seeded
 *  after every reset, with this id). */
export const FleetEndpointId = 'eice-0f1ee700000000001';

export interface FleetInstanceConnect {
  /** The endpoint in the default VPC (vpc-0sim0000000000001), where the fleet's instances run. */
  readonly endpointId: string;
  /** Its DnsName: the simulator's tunnel server, `127.0.0.1:<port>` (wss://<dnsName>/openTunnel). */
  readonly dnsName: string;
  /** The tunnel server's certificate, which every step gets as NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
  /** Simulated ms a pushed key lasts here: 60 s of real time (60 000 / TimeScale). */
  readonly keyLifetimeMs: number;
}

export interface FleetOptions {
  /**
   * sshd also takes keys pushed with SendSSHPublicKey (for the instance a connection comes from, for 60
   * simulated seconds), an Instance Connect Endpoint is seeded in the instances' VPC, and every step
   * trusts the tunnel server's certificate. Needs OpenSSH's sshd (check sshdAvailable()).
   */
  readonly instanceConnect?: boolean;
}

export interface Fleet {
  readonly sim: Simulator;
  readonly ssh: TestSshServer;
  /** Every booted instance address answers SSH on this port. */
  readonly gatePort: number;
  readonly workspace: string;
  /** Set with the `instanceConnect` option. */
  readonly instanceConnect?: FleetInstanceConnect;
  /** The step environment every run gets: endpoint, region, test credentials, poll scale. */
  readonly env: Readonly<Record<string, string>>;
  /** Standard inputs (tags, SSH, a fresh upload-dir, fast refreshes) with `given` on top. */
  inputs(given?: Readonly<Record<string, string>>): Record<string, string>;
  /** Starts the main step; for tests that signal it midway. */
  start(inputs: Readonly<Record<string, string>>, options?: StepOptions): ActionHandle;
  /** Runs the main step to its end. */
  main(inputs: Readonly<Record<string, string>>, options?: StepOptions): Promise<ActionRun>;
  /** Runs the post step of `main` at the end of its job (with its state and inputs). */
  post(main: ActionRun, options?: StepOptions): Promise<ActionRun>;
  stop(): Promise<void>;
}

/** Seeds the fleet's Instance Connect Endpoint (again after a reset). */
export function seedFleetEndpoint(sim: Simulator): void {
  if (!sim.state.instanceConnectEndpoints.has(FleetEndpointId))
    sim.instanceConnect.addEndpoint({ id: FleetEndpointId, subnetId: 'subnet-0sim0000000000001' });
}

/** Starts sshd (the in-process server where sshd is missing), the simulator and the workspace. */
export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  if (options.instanceConnect && !sshdAvailable())
    throw new Error('an instanceConnect fleet needs OpenSSH (/usr/sbin/sshd): skip the test without it');
  const ssh = options.instanceConnect
    ? await startSshd({ instanceConnect: {} })
    : sshdAvailable()
      ? await startSshd()
      : await startInProcessSshServer();
  const gatePort = await freePort();
  const sim = await startSimulator({
    timeScale: TimeScale,
    sshPort: gatePort,
    sshTarget: { host: '127.0.0.1', port: ssh.port },
  });
  // Terminated instances stay listed (as on AWS for about an hour), however long a step takes here;
  // fresh instances and images stay unseen by describes a little while, their tags unsearchable,
  // and deregistered AMIs still described, as EC2's eventual consistency makes them.
  sim.setLatency({
    transitions: { terminatedRetention: 1e12 },
    consistency: {
      instances: FreshWindowMs,
      images: FreshWindowMs,
      tags: FreshWindowMs,
      deregistered: FreshWindowMs,
    },
  });
  let instanceConnect: FleetInstanceConnect | undefined;
  if (options.instanceConnect) {
    await ssh.setKeysUrl?.(sim.instanceConnect.keysUrl);
    // SSH handshakes and deploy scripts take real milliseconds, which this world counts as seconds: a
    // pushed key (60 s) and a tunnel (maxTunnelDuration s) last their AWS durations in real time
    // instead. A test of their expiry holds the clock and advances it by 60 s / TimeScale.
    sim.instanceConnect.setTiming({ keyLifetimeMs: 60_000 / TimeScale, tunnelMsPerSecond: 1000 / TimeScale });
    seedFleetEndpoint(sim);
    instanceConnect = {
      endpointId: FleetEndpointId,
      dnsName: sim.instanceConnect.dnsName,
      caFile: sim.instanceConnect.caFile,
      keyLifetimeMs: 60_000 / TimeScale,
    };
  }
  const workspace = await mkdtemp(path.join(tmpdir(), 'asg-rolling-fleet-'));
  await mkdir(path.join(workspace, 'build'));
  await writeFile(path.join(workspace, 'build', 'app.txt'), 'v2\n');
  await writeFile(
    path.join(workspace, DeployScript),
    '#!/bin/sh\nset -e\necho "$ASG_ROLLING_INSTANCE_ID $ASG_ROLLING_GROUPS" >> deployed.log\n',
    { mode: 0o755 },
  );
  await writeFile(
    path.join(workspace, FailingScript),
    `#!/bin/sh\necho "running migrations" >&2\necho "${FailingScriptStderr}" >&2\nexit 3\n`,
    { mode: 0o755 },
  );
  const env = {
    AWS_ENDPOINT_URL: sim.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ASG_ROLLING_POLL_SCALE: PollScale,
    ...(instanceConnect ? { NODE_EXTRA_CA_CERTS: instanceConnect.caFile } : {}),
  };
  const script = (entry: 'main' | 'post'): string | undefined =>
    process.env.ASG_ROLLING_E2E_DIST
      ? path.resolve(process.env.ASG_ROLLING_E2E_DIST, entry, 'index.js')
      : undefined;
  const runs: ActionRun[] = [];
  const track = (handle: ActionHandle): ActionHandle => {
    void handle.done.then((run) => runs.push(run)).catch(() => undefined);
    return handle;
  };
  const step = (
    entry: 'main' | 'post',
    options: Omit<RunActionOptions, 'entry'>,
    extra: StepOptions = {},
  ): ActionHandle => {
    const scriptPath = script(entry);
    return track(
      startAction({
        entry,
        cwd: workspace,
        timeoutMs: StepTimeoutMs,
        ...options,
        env: { ...env, ...extra.env },
        ...(extra.after ? { after: extra.after } : {}),
        ...(scriptPath ? { script: scriptPath } : {}),
      }),
    );
  };
  let uploads = 0;
  const fleet: Fleet = {
    sim,
    ssh,
    gatePort,
    workspace,
    ...(instanceConnect ? { instanceConnect } : {}),
    env,
    inputs: (given = {}) => ({
      'asg-tags': 'app=shop',
      'ssh-user': ssh.user,
      'ssh-private-key': ssh.privateKey,
      'ssh-port': String(gatePort),
      'ssh-timeout': '60',
      'upload-dir': path.join(workspace, `remote-${++uploads}`),
      'min-healthy-percentage': '50',
      'instance-warmup': '1',
      'cleanup-keep': '1',
      ...given,
    }),
    start: (inputs, options = {}) => step('main', { inputs }, options),
    main: (inputs, options = {}) => step('main', { inputs }, options).done,
    post: (main, options = {}) => step('post', { stateFrom: main }, options).done,
    stop: async () => {
      for (const run of runs) removeJob(run.job);
      await sim.stop();
      await ssh.stop();
      await rm(workspace, { recursive: true, force: true });
    },
  };
  return fleet;
}

export interface UseFleetOptions {
  /**
   * Seeded before each test, on a reset simulator. Without it the simulator is neither reset nor
   * seeded between tests (a file that seeds once, in its own beforeAll).
   */
  readonly seed?: Fixture;
  /** Runs before each test between the reset and the seed: latency or throttle settings. */
  readonly beforeSeed?: (sim: Simulator) => void;
  /** See FleetOptions: keys pushed with SendSSHPublicKey, an endpoint (re-seeded after each reset),
   *  NODE_EXTRA_CA_CERTS for every step. */
  readonly instanceConnect?: boolean;
}

export interface FleetAccessor {
  /** The running fleet (inside tests and hooks registered after `useFleet`). */
  (): Fleet;
  /** What `seed` created for the current test. */
  seeded(): SeedResult;
}

/**
 * Registers the hooks of a file of end-to-end tests: the fleet starts before all of them and stops
 * after all of them; with `seed`, the simulator is reset and seeded before each. A file's own
 * beforeAll and beforeEach, registered after this call, run after these (its afterAll before the
 * fleet stops).
 */
export function useFleet(options: UseFleetOptions = {}): FleetAccessor {
  let fleet: Fleet | undefined;
  let seeded: SeedResult | undefined;
  beforeAll(async () => {
    fleet = await startFleet({ instanceConnect: options.instanceConnect });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  const { seed, beforeSeed } = options;
  if (seed) {
    beforeEach(async () => {
      const { sim } = running();
      await sim.reset();
      beforeSeed?.(sim);
      seeded = sim.seed(seed);
      if (options.instanceConnect) seedFleetEndpoint(sim);
    });
  }
  function running(): Fleet {
    if (!fleet) throw new Error('the fleet has not started: use it inside tests and hooks');
    return fleet;
  }
  return Object.assign(running, {
    seeded: (): SeedResult => {
      if (!seeded) throw new Error('nothing was seeded: pass useFleet a seed');
      return seeded;
    },
  });
}

/** Every temporary instance the simulator knows (ours by the role tag), in launch order. */
export function temporaryInstances(sim: Simulator): Instance[] {
  return [...sim.state.instances.values()]
    .map((record) => record.instance)
    .filter((i) => i.Tags?.some((t) => t.Key === Tags.Role && t.Value === Roles.TemporaryInstance));
}

/** Terminated or on its way there: nothing left that costs money or needs cleaning. */
export function isGone(instance: Instance): boolean {
  return instance.State?.Name === 'terminated' || instance.State?.Name === 'shutting-down';
}

/**
 * Dates every version, AMI and snapshot in the simulator two days back: older than cleanup's minimum
 * age, as what earlier deploys made is on a real account by the time a later cleanup runs.
 */
export function ageEverything(sim: Simulator): void {
  const then = new Date(Date.now() - 2 * 86_400_000);
  for (const record of sim.state.templates.values())
    for (const version of record.versions.values()) version.CreateTime = then;
  for (const image of sim.state.images.values()) image.CreationDate = then.toISOString();
  for (const snapshot of sim.state.snapshots.values()) snapshot.StartTime = then;
}

/** Temporary instances that are neither terminated nor shutting down. */
export function orphans(sim: Simulator): string[] {
  return temporaryInstances(sim)
    .filter((i) => !isGone(i))
    .map((i) => `${i.InstanceId ?? '?'} (${i.State?.Name ?? '?'})`);
}

/** A JSON output of the step, parsed (an absent output fails the test through JSON.parse). */
export function output<T = unknown>(run: ActionRun, name: string): T {
  const text = run.outputs[name];
  if (text === undefined) throw new Error(`output ${name} was not set; stdout:\n${run.stdout}`);
  return JSON.parse(text) as T;
}

/** Calls that could have changed something: not a Describe, and not a DryRun. */
export function mutatingCalls(calls: readonly CallRecord[]): string[] {
  return calls
    .filter((call) => !call.action.startsWith('Describe') && call.params.DryRun !== true)
    .map((call) => `${call.service}:${call.action}`);
}

/** The ::error:: annotations, each message as printed. */
export function errors(run: ActionRun): string[] {
  return run.annotations.filter((a) => a.level === 'error').map((a) => a.message);
}

/** Everything a failed step printed, for assertion messages. */
export function transcript(run: ActionRun): string {
  return `exit ${String(run.exitCode)} signal ${String(run.signal)}\n${run.stdout}\n${run.stderr}`;
}

export interface RefreshOutput {
  readonly group: string;
  readonly instanceRefreshId: string;
  readonly status: string;
  readonly statusReason: string;
}
