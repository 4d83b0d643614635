import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import { State } from '../../src/constants.js';
import type { WaitForSsh } from '../../src/phases/deploy.js';
import { setupInstance } from '../../src/phases/setup.js';
import type { PlannedImage } from '../../src/plan.js';
import { testConfig, testContext } from './fakes.js';

const image: PlannedImage = {
  sourceImageId: 'ami-old',
  launchTemplateId: 'lt-1',
  version: 4,
  subnetId: 'subnet-a',
  groups: [
    {
      name: 'web',
      launchTemplateId: 'lt-1',
      launchTemplateName: 'web',
      version: 4,
      versionRef: 'number',
      mixed: false,
      mixedInstancesPolicy: undefined,
      sourceImageId: 'ami-old',
    },
    {
      name: 'api',
      launchTemplateId: 'lt-2',
      launchTemplateName: 'api',
      version: 1,
      versionRef: '$Latest',
      mixed: false,
      mixedInstancesPolicy: undefined,
      sourceImageId: 'ami-old',
    },
  ],
};

const described = (state: string, extra: Partial<Instance> = {}) => ({
  Reservations: [
    {
      Instances: [
        { InstanceId: 'i-1', State: { Name: state }, PrivateIpAddress: '127.0.0.5', ...extra } as Instance,
      ],
    },
  ],
});

function setup(config = testConfig()) {
  const ctx = testContext(config);
  const ec2 = mockClient(ctx.rt.ec2);
  ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-1' }] });
  ec2.on(TerminateInstancesCommand).resolves({});
  return { ctx, ec2 };
}

describe('setupInstance', () => {
  it('launches from the template version with our tags on instance and volume', async () => {
    const { ctx, ec2 } = setup();
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    const waitForSsh = vi.fn<WaitForSsh>().mockResolvedValue(undefined);
    const instance = await setupInstance(image, ctx, { waitForSsh }, ctx.rt.log);
    expect(instance).toEqual({
      instanceId: 'i-1',
      address: '127.0.0.5',
      sourceImageId: 'ami-old',
      groups: ['web', 'api'],
    });
    const input = ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '4' },
      MinCount: 1,
      MaxCount: 1,
      SubnetId: 'subnet-a',
    });
    expect(input?.TagSpecifications?.map((t) => t.ResourceType)).toEqual(['instance', 'volume']);
    const tags = Object.fromEntries((input?.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toEqual({
      Name: 'asg-rolling 42-1',
      'asg-rolling:managed': 'true',
      'asg-rolling:role': 'temporary-instance',
      'asg-rolling:run-id': '42-1',
      'asg-rolling:groups': 'web,api',
      'asg-rolling:launch-templates': 'lt-1,lt-2',
      'asg-rolling:source-image': 'ami-old',
      'asg-rolling:commit': 'abcdef0123456789',
      'asg-rolling:created-at': new Date(ctx.rt.clock.now() - 2000).toISOString(),
      'asg-rolling:version': '9.9.9',
      'asg-rolling:launch-token': ctx.registry.launchToken,
    });
    expect(waitForSsh).toHaveBeenCalledWith(
      expect.objectContaining({ host: '127.0.0.5', port: 22, timeoutMs: 300_000 }),
    );
    // setup keeps the instance: it is still registered for the post step.
    expect(ctx.saved.get(State.TemporaryInstances)).toBe('["i-1"]');
  });

  it('registers the instance for termination before waiting for it', async () => {
    const { ctx, ec2 } = setup();
    const seenAtFirstDescribe: (string | undefined)[] = [];
    ec2.on(DescribeInstancesCommand).callsFake(() => {
      seenAtFirstDescribe.push(ctx.saved.get(State.TemporaryInstances));
      return described('running');
    });
    await setupInstance(image, ctx, { waitForSsh: async () => undefined }, ctx.rt.log);
    expect(seenAtFirstDescribe[0]).toBe('["i-1"]');
    expect(ctx.registry.pending()).toEqual(['i-1']);
  });

  it('terminates the instance when SSH never answers, and fails', async () => {
    const { ctx, ec2 } = setup();
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    const waitForSsh = vi.fn<WaitForSsh>().mockRejectedValue(new Error('SSH did not answer within 300 s'));
    await expect(setupInstance(image, ctx, { waitForSsh }, ctx.rt.log)).rejects.toThrow('SSH did not answer');
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({ InstanceIds: ['i-1'] });
    expect(ctx.registry.pending()).toEqual([]);
    expect(ctx.saved.get(State.TemporaryInstances)).toBe('[]');
  });

  it('fails with AWS reason when the instance ends instead of running', async () => {
    const { ctx, ec2 } = setup();
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce(described('pending'))
      .resolves(described('terminated', { StateReason: { Message: 'Server.InsufficientInstanceCapacity' } }));
    await expect(
      setupInstance(image, ctx, { waitForSsh: async () => undefined }, ctx.rt.log),
    ).rejects.toThrow('instance i-1 is terminated: Server.InsufficientInstanceCapacity');
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('fails clearly when the instance has no public address and ssh-address is public', async () => {
    const base = testConfig();
    const { ctx, ec2 } = setup(testConfig({ ssh: { ...base.ssh, address: 'public' } }));
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    await expect(
      setupInstance(image, ctx, { waitForSsh: async () => undefined }, ctx.rt.log),
    ).rejects.toThrow('instance i-1 has no public IP address (ssh-address: public)');
  });

  it('keeps the instance on failure with keep-instances, saying so', async () => {
    const { ctx, ec2 } = setup(testConfig({ keepInstances: true }));
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    await expect(
      setupInstance(image, ctx, { waitForSsh: () => Promise.reject(new Error('no ssh')) }, ctx.rt.log),
    ).rejects.toThrow('no ssh');
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(ctx.rt.log.lines.some((l) => l.startsWith('warning Keeping temporary instance i-1'))).toBe(true);
  });

  it('leaves out the subnet when the plan has none', async () => {
    const { ctx, ec2 } = setup();
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    await setupInstance(
      { ...image, subnetId: undefined },
      ctx,
      { waitForSsh: async () => undefined },
      ctx.rt.log,
    );
    expect(ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input).not.toHaveProperty('SubnetId');
  });
});
