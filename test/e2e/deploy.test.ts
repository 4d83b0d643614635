/**
 * The whole deploy, in process, against the simulator and a real sshd (the in-process SSH server
 * where sshd is missing): config from inputs, discovery, plan, pipelines over SSH, AMIs, launch
 * template versions, refreshes, cleanup and the report, exactly as main.run wires them; only the
 * runner's file commands are captured in maps. Every simulated instance forwards to the same sshd,
 * so all deploys share one file system and upload-dir: the SSH deploys run with max-parallel 1 so
 * that one pipeline never rewrites the script another is running (real instances never share).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../src/aws/clients.js';
import { SetupResultVariable } from '../../src/config/hand-off.js';
import { readConfig } from '../../src/config/index.js';
import { State } from '../../src/lib/constants.js';
import { Tags } from '../../src/aws/tags.js';
import { run, type MainDeps } from '../../src/action/main.js';
import { systemClock, type Logger } from '../../src/lib/runtime.js';
import { startInProcessSshServer } from '../helpers/ssh-server.js';
import { freePort, sshdAvailable, startSshd, type TestSshServer } from '../helpers/sshd.js';
import { startSimulator, type Fixture, type Simulator } from '../sim/index.js';

/** 1 simulated second = 1 real millisecond. */
const TimeScale = 0.001;

/** web and api share template lt-web and its image; worker has its own (mixed instances, $Latest). */
const fixture: Fixture = {
  images: [{ name: 'base-web' }, { name: 'base-worker' }],
  launchTemplates: [
    { name: 'lt-web', versions: [{ imageName: 'base-web' }] },
    { name: 'lt-worker', versions: [{ imageName: 'base-worker' }] },
  ],
  groups: [
    { name: 'shop-web', launchTemplate: { name: 'lt-web', version: '$Default' }, tags: { app: 'shop' } },
    { name: 'shop-api', launchTemplate: { name: 'lt-web', version: '1' }, tags: { app: 'shop' } },
    {
      name: 'shop-worker',
      launchTemplate: { name: 'lt-worker', version: '$Latest' },
      mixedInstancesPolicy: true,
      tags: { app: 'shop' },
    },
  ],
};

let sim: Simulator;
let ssh: TestSshServer;
let workspace: string;
/** Every simulated instance address answers SSH on this port once booted. */
let gatePort: number;
const savedEnv = { ...process.env };

beforeAll(async () => {
  ssh = sshdAvailable() ? await startSshd() : await startInProcessSshServer();
  gatePort = await freePort();
  sim = await startSimulator({
    timeScale: TimeScale,
    sshPort: gatePort,
    sshTarget: { host: '127.0.0.1', port: ssh.port },
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: sim.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  delete process.env.AWS_PROFILE;
  workspace = await mkdtemp(path.join(tmpdir(), 'asg-rolling-e2e-'));
  await mkdir(path.join(workspace, 'build'));
  await writeFile(path.join(workspace, 'build', 'app.txt'), 'v2\n');
  await writeFile(
    path.join(workspace, 'deploy.sh'),
    '#!/bin/sh\nset -e\necho "$ASG_ROLLING_INSTANCE_ID $ASG_ROLLING_GROUPS $STAGE" >> deployed.log\n',
    { mode: 0o755 },
  );
});

afterAll(async () => {
  await sim?.stop();
  await ssh?.stop();
  if (workspace) await rm(workspace, { recursive: true, force: true });
  process.env = savedEnv;
});

beforeEach(async () => {
  await sim.reset();
  // Terminated instances stay listed (as AWS lists them for a while), however long a busy machine takes.
  sim.setLatency({ transitions: { terminatedRetention: 1e12 } });
  sim.seed(fixture);
});

interface Captured {
  readonly outputs: Map<string, string>;
  readonly state: Map<string, string>;
  readonly exported: Map<string, string>;
  readonly lines: string[];
  summary: string;
}

function harness(inputs: Record<string, string>, env: Record<string, string> = {}) {
  const captured: Captured = {
    outputs: new Map(),
    state: new Map(),
    exported: new Map(),
    lines: [],
    summary: '',
  };
  const logger = (prefix: string): Logger => ({
    info: (m) => captured.lines.push(`${prefix}${m}`),
    warning: (m) => captured.lines.push(`${prefix}warning: ${m}`),
    error: (m) => captured.lines.push(`${prefix}error: ${m}`),
    debug: () => undefined,
    child: (p) => logger(`[${p}] `),
  });
  const remote = path.join(workspace, `remote-${Math.random().toString(36).slice(2)}`);
  const all: Record<string, string> = {
    'asg-tags': 'app=shop',
    'aws-region': sim.clientConfig().region,
    'ssh-user': ssh.user,
    'ssh-private-key': ssh.privateKey,
    'ssh-port': String(gatePort),
    'ssh-timeout': '60',
    'upload-dir': remote,
    'deploy-env': 'STAGE=e2e',
    'min-healthy-percentage': '50',
    'instance-warmup': '1',
    'cleanup-keep': '1',
    ...inputs,
  };
  const config = readConfig(
    (name) => all[name] ?? '',
    {
      ...process.env,
      GITHUB_WORKSPACE: workspace,
      GITHUB_SHA: 'feedface'.repeat(5),
      GITHUB_RUN_ID: '77',
      ASG_ROLLING_POLL_SCALE: '0.005',
      ...env,
    },
    { setSecret: () => undefined },
  );
  const deps: Partial<MainDeps> = {
    loadConfig: () => config,
    createClients: (region) => createClients({ region, version: 'e2e', maxAttempts: 4 }),
    clock: systemClock,
    log: logger(''),
    saveState: (k, v) => captured.state.set(k, v),
    setOutput: (k, v) => captured.outputs.set(k, v),
    exportVariable: (k, v) => captured.exported.set(k, v),
    writeSummary: async (md) => {
      captured.summary = md;
    },
    installSignals: false,
  };
  return { deps, captured, remote, config };
}

const temporaryInstances = () =>
  [...sim.state.instances.values()]
    .map((r) => r.instance)
    .filter((i) => i.Tags?.some((t) => t.Key === Tags.Role && t.Value === 'temporary-instance'));

function expectRolledOut(captured: Captured): void {
  const amis = JSON.parse(captured.outputs.get('amis') ?? '[]') as { imageId: string; groups: string[] }[];
  // Pipelines finish in any order: compare sorted.
  expect(amis.map((a) => [...a.groups].sort().join(',')).sort()).toEqual([
    'shop-api,shop-web',
    'shop-worker',
  ]);
  for (const ami of amis) expect(sim.state.images.get(ami.imageId)?.State).toBe('available');

  const versions = JSON.parse(captured.outputs.get('launch-template-versions') ?? '[]') as {
    launchTemplateId: string;
    version: number;
    imageId: string;
  }[];
  // One new version per template, though two groups share lt-web.
  expect(versions.map((v) => v.version)).toEqual([2, 2]);
  expect(versions).toHaveLength(2);
  const web = sim.state.templateByName('lt-web');
  expect(web?.versions.get(2)?.LaunchTemplateData?.ImageId).toBe(
    versions.find((v) => v.launchTemplateId === web?.template.LaunchTemplateId)?.imageId,
  );
  // shop-web follows $Default: version 2 became the default after its refresh succeeded.
  expect(web?.template.DefaultVersionNumber).toBe(2);

  const refreshes = JSON.parse(captured.outputs.get('instance-refreshes') ?? '[]') as {
    group: string;
    status: string;
  }[];
  expect(refreshes.map((r) => [r.group, r.status])).toEqual([
    ['shop-api', 'Successful'],
    ['shop-web', 'Successful'],
    ['shop-worker', 'Successful'],
  ]);
  const worker = sim.state.groups.get('shop-worker');
  // shop-worker follows $Latest inside its MixedInstancesPolicy: set back to it once version 2 rolled out.
  expect(worker?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification?.Version).toBe('$Latest');
  expect(worker?.MixedInstancesPolicy?.LaunchTemplate?.Overrides).toHaveLength(2);

  const temps = temporaryInstances();
  expect(temps).toHaveLength(2);
  for (const i of temps) expect(['shutting-down', 'terminated']).toContain(i.State?.Name);
  expect(captured.summary).toContain('| shop-web |');
  expect(captured.summary).toContain('```mermaid');
}

describe('deploy against the simulator', () => {
  it('deploys over SSH, bakes 2 AMIs for 3 groups and rolls every group', async () => {
    const { deps, captured, remote } = harness({
      command: 'deploy',
      upload: 'build',
      'max-parallel': '1',
      'deploy-script': 'deploy.sh',
    });
    await run(deps);
    expectRolledOut(captured);
    const log = await readFile(path.join(remote, 'deployed.log'), 'utf8');
    const lines = log.trim().split('\n').sort();
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => /^i-\w+ shop-api,shop-web e2e$/.test(l))).toBe(true);
    expect(JSON.parse(captured.outputs.get('instances') ?? '[]')).toHaveLength(2);
    expect(JSON.parse(captured.state.get(State.TemporaryInstances) ?? '["x"]')).toEqual([]);
    expect(captured.outputs.has('cleaned')).toBe(true);
  });

  it('setup then finalize: the user deploys in between, the action bakes and rolls', async () => {
    const setup = harness({ command: 'setup' });
    await run(setup.deps);
    const handed = setup.captured.exported.get(SetupResultVariable);
    expect(handed).toBeDefined();
    const instances = JSON.parse(setup.captured.outputs.get('instances') ?? '[]') as { instanceId: string }[];
    expect(instances).toHaveLength(2);
    expect(temporaryInstances().every((i) => i.State?.Name === 'running')).toBe(true);
    // Polling is batched: the two instances launched in parallel are described in the same DescribeInstances.
    const ids = temporaryInstances().map((i) => i.InstanceId);
    const batched = sim.calls.filter((c) => {
      const filters = (c.params as { Filters?: { Name?: string; Values?: string[] }[] }).Filters ?? [];
      const values = filters.find((f) => f.Name === 'instance-id')?.Values ?? [];
      return c.action === 'DescribeInstances' && ids.every((id) => values.includes(id ?? ''));
    });
    expect(batched.length).toBeGreaterThan(0);
    // Still registered for the post step at the end of the job.
    expect(JSON.parse(setup.captured.state.get(State.TemporaryInstances) ?? '[]').sort()).toEqual(
      instances.map((i) => i.instanceId).sort(),
    );

    const finalize = harness(
      { command: 'finalize', 'asg-tags': '' },
      { [SetupResultVariable]: handed ?? '' },
    );
    await run(finalize.deps);
    expectRolledOut(finalize.captured);
    // setup's two launches; finalize launches nothing (the preflights' DryRun requests are no launch).
    expect(sim.calls.filter((c) => c.action === 'RunInstances' && c.params.DryRun !== true)).toHaveLength(2);
  });

  it('fails only the group whose refresh rolled back, naming it, and still rolls the others', async () => {
    sim.faults.add({ kind: 'refresh', group: 'shop-api', outcome: 'RollbackSuccessful', atPercent: 50 });
    const { deps, captured } = harness({
      command: 'deploy',
      upload: 'build',
      'max-parallel': '1',
      'deploy-script': 'deploy.sh',
    });
    await expect(run(deps)).rejects.toThrow(
      /1 of 3 Auto Scaling group\(s\) failed:\n- shop-api: rolled back/,
    );
    const refreshes = JSON.parse(captured.outputs.get('instance-refreshes') ?? '[]') as {
      group: string;
      status: string;
    }[];
    expect(refreshes.map((r) => [r.group, r.status])).toEqual([
      ['shop-api', 'RollbackSuccessful'],
      ['shop-web', 'Successful'],
      ['shop-worker', 'Successful'],
    ]);
    expect(captured.lines.some((l) => l.startsWith('[shop-api] error: rolled back'))).toBe(true);
    expect(captured.summary.indexOf('### Errors')).toBeLessThan(captured.summary.indexOf('| Group |'));
    for (const i of temporaryInstances()) expect(['shutting-down', 'terminated']).toContain(i.State?.Name);
  });

  it('refresh: rolls every group with the template it uses today, creating nothing', async () => {
    const { deps, captured } = harness({ command: 'refresh' });
    await run(deps);
    const refreshes = JSON.parse(captured.outputs.get('instance-refreshes') ?? '[]') as { status: string }[];
    expect(refreshes.map((r) => r.status)).toEqual(['Successful', 'Successful', 'Successful']);
    expect(
      sim.calls.filter((c) =>
        ['RunInstances', 'CreateImage', 'CreateLaunchTemplateVersion'].includes(c.action),
      ),
    ).toEqual([]);
    expect(sim.state.templateByName('lt-web')?.template.LatestVersionNumber).toBe(1);
  });
});
