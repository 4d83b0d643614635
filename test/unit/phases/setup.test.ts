import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import { State } from '../../../src/lib/constants.js';
import type { HostKeyVerifier, waitForSsh } from '../../../src/ssh/index.js';
import { setupInstance } from '../../../src/phases/setup.js';
import { testConfig, testContext, plannedGroup, plannedImage } from '../../helpers/fakes.js';

type WaitForSsh = typeof waitForSsh;

const image = plannedImage([
  plannedGroup(),
  plannedGroup({
    name: 'api',
    launchTemplateId: 'lt-2',
    launchTemplateName: 'api',
    version: 1,
    versionRef: '$Latest',
  }),
]);

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
    const instance = await setupInstance({ image: image, waitForSsh }, ctx, ctx.rt.log);
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
    // The image is the template's own: a least-privilege policy allows it only as a template resource.
    expect(input?.ImageId).toBeUndefined();
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
    // ssh-timeout (300 s) runs from the launch: the 2 s spent waiting for `running` are gone.
    expect(waitForSsh).toHaveBeenCalledWith(
      expect.objectContaining({ host: '127.0.0.5', port: 22, timeoutMs: 298_000 }),
    );
    // setup keeps the instance: it is still registered for the post step.
    expect(ctx.saved.get(State.TemporaryInstances)).toBe('["i-1"]');
  });
  it('names the planned AMI when the template names a parameter, which may have moved since the plan', async () => {
    const { ctx, ec2 } = setup();
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    const waitForSsh = vi.fn<WaitForSsh>().mockResolvedValue(undefined);
    await setupInstance({ image: { ...image, pinsImage: true }, waitForSsh }, ctx, ctx.rt.log);
    expect(ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input.ImageId).toBe('ami-old');
  });

  it('checks the host key with the run policy and hands on the key the probe proved', async () => {
    const { ctx, ec2 } = setup();
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    const key = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.alloc(36, 7)]);
    const hostKeys: HostKeyVerifier = { verify: () => true, describe: () => 'test' };
    const waitForSsh = vi.fn<WaitForSsh>().mockResolvedValue(key);
    const instance = await setupInstance({ image, waitForSsh, hostKeys }, ctx, ctx.rt.log);
    expect(waitForSsh).toHaveBeenCalledWith(expect.objectContaining({ hostKeys, instanceId: 'i-1' }));
    expect(instance.hostKey).toBe(`127.0.0.5 ssh-ed25519 ${key.toString('base64')}`);
  });

  it('registers the instance for termination before waiting for it', async () => {
    const { ctx, ec2 } = setup();
    const seenAtFirstDescribe: (string | undefined)[] = [];
    ec2.on(DescribeInstancesCommand).callsFake(() => {
      seenAtFirstDescribe.push(ctx.saved.get(State.TemporaryInstances));
      return described('running');
    });
    await setupInstance({ image: image, waitForSsh: async () => undefined }, ctx, ctx.rt.log);
    expect(seenAtFirstDescribe[0]).toBe('["i-1"]');
    expect(ctx.registry.pending()).toEqual(['i-1']);
  });

  it('terminates the instance when SSH never answers, and fails', async () => {
    const { ctx, ec2 } = setup();
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    const waitForSsh = vi.fn<WaitForSsh>().mockRejectedValue(new Error('SSH did not answer within 300 s'));
    await expect(setupInstance({ image: image, waitForSsh }, ctx, ctx.rt.log)).rejects.toThrow(
      'SSH did not answer',
    );
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
      setupInstance({ image: image, waitForSsh: async () => undefined }, ctx, ctx.rt.log),
    ).rejects.toThrow('instance i-1 is terminated: Server.InsufficientInstanceCapacity');
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('fails clearly when the instance has no public address and ssh-address is public', async () => {
    const base = testConfig();
    const { ctx, ec2 } = setup(testConfig({ ssh: { ...base.ssh, address: 'public' } }));
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    await expect(
      setupInstance({ image: image, waitForSsh: async () => undefined }, ctx, ctx.rt.log),
    ).rejects.toThrow('instance i-1 has no public IP address (ssh-address: public)');
  });

  it('keeps the instance on failure with keep-instances, saying so', async () => {
    const { ctx, ec2 } = setup(testConfig({ keepInstances: true }));
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    await expect(
      setupInstance({ image: image, waitForSsh: () => Promise.reject(new Error('no ssh')) }, ctx, ctx.rt.log),
    ).rejects.toThrow('no ssh');
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(ctx.rt.log.lines.some((l) => l.startsWith('warning Keeping temporary instance i-1'))).toBe(true);
  });

  it('leaves out the subnet when the plan has none', async () => {
    const { ctx, ec2 } = setup();
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    await setupInstance(
      { image: { ...image, subnetIds: [] }, waitForSsh: async () => undefined },
      ctx,
      ctx.rt.log,
    );
    expect(ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input).not.toHaveProperty('SubnetId');
  });

  it('running and SSH share one ssh-timeout deadline from the launch', async () => {
    const { ctx, ec2 } = setup();
    // 100 s of `pending` (50 polls of 2 s), then running: SSH has the 200 s that are left.
    let polls = 0;
    ec2.on(DescribeInstancesCommand).callsFake(() => described(++polls > 50 ? 'running' : 'pending'));
    const waitForSsh = vi.fn<WaitForSsh>().mockResolvedValue(undefined);
    await setupInstance({ image: image, waitForSsh }, ctx, ctx.rt.log);
    expect(waitForSsh).toHaveBeenCalledWith(expect.objectContaining({ timeoutMs: 198_000 }));

    const slow = setup();
    slow.ec2.on(DescribeInstancesCommand).resolves(described('pending'));
    await expect(
      setupInstance({ image: image, waitForSsh: async () => undefined }, slow.ctx, slow.ctx.rt.log),
    ).rejects.toThrow('Timed out after 300s waiting for instance i-1 to be running');
  });

  it('tries the next subnet of the group when one has no capacity, and says so', async () => {
    const { ctx, ec2 } = setup();
    const capacity = Object.assign(new Error('We currently do not have sufficient capacity in eu-west-1a'), {
      name: 'InsufficientInstanceCapacity',
      $metadata: {},
    });
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(capacity)
      .resolves({ Instances: [{ InstanceId: 'i-1' }] });
    ec2.on(DescribeInstancesCommand).resolves(described('running'));
    await setupInstance(
      {
        image: { ...image, subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'] },
        waitForSsh: async () => undefined,
      },
      ctx,
      ctx.rt.log,
    );
    const launches = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
    expect(launches.map((l) => l.SubnetId)).toEqual(['subnet-a', 'subnet-b']);
    // A client token stands for one set of parameters: each subnet gets its own.
    expect(new Set(launches.map((l) => l.ClientToken)).size).toBe(2);
    expect(ctx.rt.log.lines).toContain(
      'warning Could not launch an instance from launch template lt-1 version 4: InsufficientInstanceCapacity: ' +
        'We currently do not have sufficient capacity in eu-west-1a; trying subnet subnet-b',
    );
    expect(ctx.registry.pending()).toEqual(['i-1']);
  });

  it('fails at once on an error that is not about the subnet, and after the last subnet', async () => {
    const denied = setup();
    denied.ec2
      .on(RunInstancesCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    await expect(
      setupInstance(
        { image: { ...image, subnetIds: ['subnet-a', 'subnet-b'] }, waitForSsh: async () => undefined },
        denied.ctx,
        denied.ctx.rt.log,
      ),
    ).rejects.toThrow('not authorized');
    expect(denied.ec2.commandCalls(RunInstancesCommand)).toHaveLength(1);

    const full = setup();
    full.ec2
      .on(RunInstancesCommand)
      .rejects(Object.assign(new Error('no capacity'), { name: 'InsufficientInstanceCapacity' }));
    await expect(
      setupInstance(
        { image: { ...image, subnetIds: ['subnet-a', 'subnet-b'] }, waitForSsh: async () => undefined },
        full.ctx,
        full.ctx.rt.log,
      ),
    ).rejects.toThrow('no capacity');
    expect(full.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.SubnetId)).toEqual([
      'subnet-a',
      'subnet-b',
    ]);
  });
});
