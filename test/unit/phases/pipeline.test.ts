import {
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  type StartInstanceRefreshCommandInput,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateImageCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  ModifyLaunchTemplateCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type CreateImageCommandInput,
  type CreateLaunchTemplateVersionCommandInput,
  type DescribeImagesCommandInput,
  type DescribeInstancesCommandInput,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import type { Config } from '../../../src/config/index.js';
import { createLimiter } from '../../../src/lib/parallel.js';
import type { SshTransport } from '../../../src/phases/deploy.js';
import { runPipelines, type PipelineMode } from '../../../src/phases/pipeline.js';
import type { DeployPlan, PlannedGroup } from '../../../src/phases/plan.js';
import { failureMessage, RunReport } from '../../../src/report/summary.js';
import type { HostKeyVerifier } from '../../../src/ssh/index.js';
import { testConfig, testContext } from '../../helpers/fakes.js';

const g = (
  name: string,
  lt: string,
  version: number,
  ref: PlannedGroup['versionRef'],
  image: string,
): PlannedGroup => ({
  name,
  launchTemplateId: lt,
  launchTemplateName: lt,
  version,
  versionRef: ref,
  mixedInstancesPolicy: undefined,
  sourceImageId: image,
  versionDescription: '',
});

/** web and api share lt-1 version 4 (ami-a); worker has its own template and image (ami-b). */
const plan: DeployPlan = {
  images: [
    {
      sourceImageId: 'ami-a',
      launchTemplateId: 'lt-1',
      version: 4,
      subnetIds: ['subnet-1'],
      groups: [g('web', 'lt-1', 4, 'number', 'ami-a'), g('api', 'lt-1', 4, '$Default', 'ami-a')],
    },
    {
      sourceImageId: 'ami-b',
      launchTemplateId: 'lt-2',
      version: 1,
      subnetIds: [],
      groups: [g('worker', 'lt-2', 1, 'number', 'ami-b')],
    },
  ],
  failures: [{ group: 'legacy', error: 'uses launch configuration lc-1' }],
  warnings: [],
};

interface WorldOptions {
  readonly failImageOf?: string;
  readonly refreshStatus?: Record<string, string>;
}

/** A tiny stateful EC2 + Auto Scaling behind the mocks: instances start and stop, images become available. */
function world(config: Config, options: WorldOptions = {}) {
  const ctx = testContext(config);
  const ec2 = mockClient(ctx.rt.ec2);
  const asg = mockClient(ctx.rt.autoScaling);
  const instances = new Map<string, { state: string; template: string }>();
  const images = new Map<string, { state: string; from: string }>();
  const versions = new Map<string, number>([
    ['lt-1', 4],
    ['lt-2', 1],
  ]);
  let n = 0;
  ec2.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => {
    const id = `i-${++n}`;
    instances.set(id, { state: 'pending', template: input.LaunchTemplate?.LaunchTemplateId ?? '' });
    return { Instances: [{ InstanceId: id }] };
  });
  ec2.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
    const ids = input.Filters?.[0]?.Values ?? [];
    const found = ids.flatMap((id) => {
      const i = instances.get(id);
      if (!i) return [];
      if (i.state === 'pending') i.state = 'running';
      else if (i.state === 'stopping') i.state = 'stopped';
      return [{ InstanceId: id, State: { Name: i.state }, PrivateIpAddress: `127.0.0.${id.slice(2)}` }];
    });
    return { Reservations: [{ Instances: found }] };
  });
  ec2.on(StopInstancesCommand).callsFake((input: { InstanceIds: string[] }) => {
    for (const id of input.InstanceIds) instances.get(id)!.state = 'stopping';
    return {};
  });
  ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => {
    for (const id of input.InstanceIds) instances.get(id)!.state = 'terminated';
    return {};
  });
  ec2.on(CreateImageCommand).callsFake((input: CreateImageCommandInput) => {
    const id = `ami-new-${input.InstanceId}`;
    images.set(id, { state: 'pending', from: input.InstanceId ?? '' });
    return { ImageId: id };
  });
  ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
    const ids = input.Filters?.[0]?.Values ?? [];
    return {
      Images: ids.flatMap((id) => {
        const image = images.get(id);
        if (!image) return [];
        const template = instances.get(image.from)?.template;
        image.state = options.failImageOf && options.failImageOf === template ? 'failed' : 'available';
        return [{ ImageId: id, State: image.state }];
      }),
    };
  });
  ec2.on(CreateLaunchTemplateVersionCommand).callsFake((input: CreateLaunchTemplateVersionCommandInput) => {
    const next = (versions.get(input.LaunchTemplateId ?? '') ?? 0) + 1;
    versions.set(input.LaunchTemplateId ?? '', next);
    return { LaunchTemplateVersion: { VersionNumber: next } };
  });
  ec2.on(ModifyLaunchTemplateCommand).resolves({});
  asg.on(StartInstanceRefreshCommand).callsFake((input: StartInstanceRefreshCommandInput) => ({
    InstanceRefreshId: `r-${input.AutoScalingGroupName}`,
  }));
  asg
    .on(DescribeInstanceRefreshesCommand)
    .callsFake((input: { AutoScalingGroupName: string; InstanceRefreshIds: string[] }) => ({
      InstanceRefreshes: input.InstanceRefreshIds.map((id) => ({
        InstanceRefreshId: id,
        Status: options.refreshStatus?.[input.AutoScalingGroupName] ?? 'Successful',
        StatusReason: 'alarm fired',
      })),
    }));
  const transport: SshTransport = {
    waitForSsh: vi.fn(async () => ProvenKey),
    deployOverSsh: vi.fn(async () => undefined),
  };
  return { ctx, ec2, asg, instances, transport };
}

const hostKeys: HostKeyVerifier = { verify: () => true, describe: () => 'test' };
/** The host key blob every probe in this world proves. */
const ProvenKey = Buffer.concat([
  Buffer.from([0, 0, 0, 11]),
  Buffer.from('ssh-ed25519'),
  Buffer.alloc(36, 1),
]);
const hostKeyAt = (address: string): string => `${address} ssh-ed25519 ${ProvenKey.toString('base64')}`;

async function run(mode: PipelineMode, options: WorldOptions = {}, config = testConfig()) {
  const w = world(config, options);
  const report = new RunReport();
  await runPipelines(plan, {
    mode,
    ctx: w.ctx,
    report,
    limiter: createLimiter(config.maxParallel),
    transport: w.transport,
    hostKeys,
  });
  return { ...w, report };
}

describe('runPipelines deploy', () => {
  it('builds one AMI per source image, one version per template, and refreshes every group', async () => {
    const { ec2, asg, report, instances, transport, ctx } = await run('deploy');
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(2);
    expect(transport.deployOverSsh).toHaveBeenCalledTimes(2);
    const deployEnv = vi.mocked(transport.deployOverSsh).mock.calls.map((c) => c[0].env);
    expect(deployEnv).toContainEqual({
      STAGE: 'stage-value-1',
      ASG_ROLLING_INSTANCE_ID: 'i-1',
      ASG_ROLLING_GROUPS: 'web,api',
      ASG_ROLLING_COMMIT: 'abcdef0123456789',
      ASG_ROLLING_RUN_ID: '42-1',
    });
    expect(ec2.commandCalls(CreateImageCommand)).toHaveLength(2);
    const created = ec2.commandCalls(CreateLaunchTemplateVersionCommand).map((c) => c.args[0].input);
    expect(created).toEqual([
      {
        LaunchTemplateId: 'lt-1',
        SourceVersion: '4',
        VersionDescription: 'asg-rolling run 42-1 commit abcdef0',
        LaunchTemplateData: { ImageId: 'ami-new-i-1' },
      },
      {
        LaunchTemplateId: 'lt-2',
        SourceVersion: '1',
        VersionDescription: 'asg-rolling run 42-1 commit abcdef0',
        LaunchTemplateData: { ImageId: 'ami-new-i-2' },
      },
    ]);
    const refreshes = asg
      .commandCalls(StartInstanceRefreshCommand)
      .map((c) => [
        c.args[0].input.AutoScalingGroupName,
        c.args[0].input.DesiredConfiguration?.LaunchTemplate?.Version,
      ]);
    expect(refreshes.sort()).toEqual([
      ['api', '5'],
      ['web', '5'],
      ['worker', '2'],
    ]);
    // api follows $Default: its template's default moves to the new version after the refresh succeeded.
    expect(ec2.commandCalls(ModifyLaunchTemplateCommand).map((c) => c.args[0].input)).toEqual([
      { LaunchTemplateId: 'lt-1', DefaultVersion: '5' },
    ]);
    expect([...instances.values()].map((i) => i.state)).toEqual(['terminated', 'terminated']);
    expect(ctx.registry.pending()).toEqual([]);
    expect(JSON.parse(report.outputs()['launch-template-versions'])).toEqual([
      { launchTemplateId: 'lt-1', version: 5, imageId: 'ami-new-i-1', groups: ['web', 'api'] },
      { launchTemplateId: 'lt-2', version: 2, imageId: 'ami-new-i-2', groups: ['worker'] },
    ]);
    expect(JSON.parse(report.outputs()['instance-refreshes']).map((r: { group: string }) => r.group)).toEqual(
      ['api', 'web', 'worker'],
    );
    expect(report.failures()).toEqual([{ group: 'legacy', error: 'uses launch configuration lc-1' }]);
  });

  it('polls all pending instances in one DescribeInstances per cycle', async () => {
    const { ec2 } = await run('deploy');
    const batches = ec2
      .commandCalls(DescribeInstancesCommand)
      .map((c) => c.args[0].input.Filters?.[0]?.Values);
    expect(batches[0]).toEqual(['i-1', 'i-2']);
  });

  it('fails every group of a failed image with its cause, terminates its instance, and rolls the others', async () => {
    const { report, asg, instances } = await run('deploy', { failImageOf: 'lt-2' });
    expect(report.failures()).toEqual([
      { group: 'legacy', error: 'uses launch configuration lc-1' },
      { group: 'worker', error: 'image ami-b: image ami-new-i-2 is failed' },
    ]);
    expect(
      asg
        .commandCalls(StartInstanceRefreshCommand)
        .map((c) => c.args[0].input.AutoScalingGroupName)
        .sort(),
    ).toEqual(['api', 'web']);
    expect(instances.get('i-2')?.state).toBe('terminated');
    expect(failureMessage(report)).toBe(
      '2 of 4 Auto Scaling group(s) failed:\n- legacy: uses launch configuration lc-1\n- worker: image ami-b: image ami-new-i-2 is failed',
    );
  });

  it('keeps the old default version when a $Default group rolled back', async () => {
    const { report, ec2, ctx } = await run('deploy', { refreshStatus: { api: 'RollbackSuccessful' } });
    expect(report.failures().map((f) => [f.group, f.error])).toContainEqual([
      'api',
      'rolled back: alarm fired (Instance Refresh r-api ended RollbackSuccessful)',
    ]);
    expect(report.row('api').refresh?.status).toBe('RollbackSuccessful');
    expect(ec2.commandCalls(ModifyLaunchTemplateCommand)).toHaveLength(0);
    expect(
      ctx.rt.log.lines.some((l) => l.includes('lt-1 keeps its default version: api did not roll out')),
    ).toBe(true);
  });

  it('never runs more than max-parallel operations at once', async () => {
    const base = testConfig();
    const w = world({ ...base, maxParallel: 1 });
    let active = 0;
    let peak = 0;
    const transport: SshTransport = {
      ...w.transport,
      deployOverSsh: vi.fn(async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        active -= 1;
      }),
    };
    const report = new RunReport();
    await runPipelines(plan, {
      mode: 'deploy',
      ctx: w.ctx,
      report,
      limiter: createLimiter(1),
      transport,
      hostKeys,
    });
    expect(peak).toBe(1);
    expect(w.ec2.commandCalls(RunInstancesCommand)).toHaveLength(2);
    expect(report.failures().map((f) => f.group)).toEqual(['legacy']);
  });
});

describe('runPipelines with max-parallel below the number of images', () => {
  it("rolls a built image's groups before it starts building the next image", async () => {
    const { ec2, asg, report } = await run('deploy', {}, testConfig({ maxParallel: 1 }));
    const secondLaunch = ec2.commandCalls(RunInstancesCommand)[1];
    expect(secondLaunch?.args[0].input.LaunchTemplate?.LaunchTemplateId).toBe('lt-2');
    const starts = asg.commandCalls(StartInstanceRefreshCommand);
    const rollsOfA = starts.filter((c) =>
      ['web', 'api'].includes(c.args[0].input.AutoScalingGroupName ?? ''),
    );
    expect(rollsOfA).toHaveLength(2);
    for (const start of rollsOfA) expect(start.calledBefore(secondLaunch!)).toBe(true);
    expect(report.failures().map((f) => f.group)).toEqual(['legacy']);
  });
});

describe('runPipelines setup and finalize', () => {
  it('setup stops at SSH-ready and leaves the instances registered for the post step', async () => {
    const { ec2, report, ctx, transport } = await run('setup');
    expect(ec2.commandCalls(CreateImageCommand)).toHaveLength(0);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(transport.deployOverSsh).not.toHaveBeenCalled();
    expect(ctx.registry.pending()).toEqual(['i-1', 'i-2']);
    // Each instance's probe ran with the run's host key policy, and the key it proved is handed on.
    expect(vi.mocked(transport.waitForSsh).mock.calls.map((c) => c[0].hostKeys)).toEqual([
      hostKeys,
      hostKeys,
    ]);
    expect(JSON.parse(report.outputs().instances)).toEqual([
      {
        instanceId: 'i-1',
        address: '127.0.0.1',
        sourceImageId: 'ami-a',
        groups: ['web', 'api'],
        hostKey: hostKeyAt('127.0.0.1'),
      },
      {
        instanceId: 'i-2',
        address: '127.0.0.2',
        sourceImageId: 'ami-b',
        groups: ['worker'],
        hostKey: hostKeyAt('127.0.0.2'),
      },
    ]);
  });

  it('finalize bakes the instances setup prepared, without launching any', async () => {
    const w = world(testConfig());
    w.ec2.on(RunInstancesCommand).rejects(new Error('must not launch'));
    // The prepared instances exist in the world already.
    w.instances.set('i-7', { state: 'running', template: 'lt-1' });
    w.instances.set('i-8', { state: 'running', template: 'lt-2' });
    const report = new RunReport();
    await runPipelines(plan, {
      mode: 'finalize',
      ctx: w.ctx,
      report,
      limiter: createLimiter(8),
      transport: w.transport,
      instances: new Map([
        [
          'ami-a',
          { instanceId: 'i-7', address: '127.0.0.7', sourceImageId: 'ami-a', groups: ['web', 'api'] },
        ],
        ['ami-b', { instanceId: 'i-8', address: '127.0.0.8', sourceImageId: 'ami-b', groups: ['worker'] }],
      ]),
    });
    expect(w.ec2.commandCalls(CreateImageCommand).map((c) => c.args[0].input.InstanceId)).toEqual([
      'i-7',
      'i-8',
    ]);
    expect(w.ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([
      ['i-7'],
      ['i-8'],
    ]);
    expect(report.failures().map((f) => f.group)).toEqual(['legacy']);
    expect(w.transport.waitForSsh).not.toHaveBeenCalled();
  });
});
