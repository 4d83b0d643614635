// RunInstances as AWS checks it: the default instance type and the image's architecture, network
// interfaces against an instance-level subnet, ClientToken idempotency, subnets that exist, and the
// eventual-consistency window after a launch or an image. Each case cites the AWS page it follows.
import {
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startSimulator, type Simulator } from './index.js';
import { clients, rejection } from './testkit.js';

let sim: Simulator;
let ec2: ReturnType<typeof clients>['ec2'];
let seeded: ReturnType<Simulator['seed']>;

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.001 });
  ({ ec2 } = clients(sim, { maxAttempts: 1 }));
});
afterAll(async () => {
  await sim.stop();
});
beforeEach(async () => {
  await sim.reset();
  sim.setLatency({ consistency: { instances: 0, images: 0, deregistered: 0, tags: 0 } });
  seeded = sim.seed({
    subnets: ['subnet-0cccc000000000003'],
    images: [{ name: 'x86' }, { name: 'arm', architecture: 'arm64' }],
    launchTemplates: [
      { name: 'plain', versions: [{ imageName: 'x86' }] },
      { name: 'arm-untyped', versions: [{ imageName: 'arm', noInstanceType: true }] },
      { name: 'x86-untyped', versions: [{ imageName: 'x86', noInstanceType: true }] },
      {
        name: 'with-interface',
        versions: [
          {
            imageName: 'x86',
            data: {
              NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: true, Groups: ['sg-0aaa'] }],
            },
          },
        ],
      },
    ],
  });
});

const template = (name: string): RunInstancesCommandInput['LaunchTemplate'] => ({
  LaunchTemplateId: seeded.launchTemplates[name] ?? '',
  Version: '1',
});
const run = (input: Partial<RunInstancesCommandInput>) =>
  ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, ...input }));

describe('instance type (API_RunInstances: InstanceType, "Default: m1.small")', () => {
  it('launches m1.small when neither the request nor the template names a type', async () => {
    const res = await run({ LaunchTemplate: template('x86-untyped') });
    expect(res.Instances?.[0]?.InstanceType).toBe('m1.small');
  });

  it('refuses an arm64 image on the default type, as AWS does', async () => {
    const error = await rejection(run({ LaunchTemplate: template('arm-untyped') }));
    expect(error.name).toBe('InvalidParameterValue');
    expect(error.message).toContain(
      "The architecture 'x86_64' of the specified instance type does not match the architecture 'arm64'",
    );
  });

  it('launches the arm64 image on a Graviton type named in the request', async () => {
    const res = await run({ LaunchTemplate: template('arm-untyped'), InstanceType: 't4g.micro' });
    expect(res.Instances?.[0]?.InstanceType).toBe('t4g.micro');
    expect(res.Instances?.[0]?.Architecture).toBe('arm64');
  });
});

describe('network interfaces (InvalidParameterCombination, aws/aws-cli#613)', () => {
  it('refuses an instance-level subnet when the template brings interfaces', async () => {
    const error = await rejection(
      run({ LaunchTemplate: template('with-interface'), SubnetId: 'subnet-0aaaa000000000001' }),
    );
    expect(error.name).toBe('InvalidParameterCombination');
    expect(error.message).toContain('Network interfaces and an instance-level subnet ID');
  });

  it('refuses an instance-level subnet beside interfaces of the request', async () => {
    const error = await rejection(
      run({
        LaunchTemplate: template('plain'),
        SubnetId: 'subnet-0aaaa000000000001',
        NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0bbbb000000000002' }],
      }),
    );
    expect(error.name).toBe('InvalidParameterCombination');
  });

  it("launches in the interface's subnet with the interface's security groups", async () => {
    const res = await run({
      LaunchTemplate: template('with-interface'),
      NetworkInterfaces: [
        {
          DeviceIndex: 0,
          SubnetId: 'subnet-0cccc000000000003',
          Groups: ['sg-0bbb'],
          AssociatePublicIpAddress: true,
        },
      ],
    });
    const instance = res.Instances?.[0];
    expect(instance?.SubnetId).toBe('subnet-0cccc000000000003');
    expect(instance?.SecurityGroups?.map((g) => g.GroupId)).toEqual(['sg-0bbb']);
    expect(instance?.PublicIpAddress).toBeTruthy();
  });
});

describe('subnets (InvalidSubnetID.NotFound, Error codes for the Amazon EC2 API)', () => {
  it('refuses a subnet that does not exist, and one deleted since', async () => {
    const unknown = await rejection(
      run({ LaunchTemplate: template('plain'), SubnetId: 'subnet-0dead000000000009' }),
    );
    expect(unknown.name).toBe('InvalidSubnetID.NotFound');
    expect(unknown.message).toContain('subnet-0dead000000000009');
    sim.state.subnets.delete('subnet-0cccc000000000003');
    const stale = await rejection(
      run({ LaunchTemplate: template('plain'), SubnetId: 'subnet-0cccc000000000003' }),
    );
    expect(stale.name).toBe('InvalidSubnetID.NotFound');
  });

  it('knows the subnets a fixture declares and the default ones', async () => {
    for (const subnet of ['subnet-0cccc000000000003', 'subnet-0aaaa000000000001']) {
      const res = await run({ LaunchTemplate: template('plain'), SubnetId: subnet });
      expect(res.Instances?.[0]?.SubnetId).toBe(subnet);
    }
  });
});

describe('ClientToken (Ensuring idempotency in Amazon EC2 API requests)', () => {
  it('answers a repeat with the original instance, even once it is terminated', async () => {
    const request = { LaunchTemplate: template('plain'), ClientToken: 'token-1' };
    const first = await run(request);
    const id = first.Instances?.[0]?.InstanceId ?? '';
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const again = await run(request);
    expect(again.ReservationId).toBe(first.ReservationId);
    expect(again.Instances?.map((i) => i.InstanceId)).toEqual([id]);
    expect(again.Instances?.[0]?.State?.Name).not.toBe('pending');
    expect(sim.state.instances.size).toBe(1);
  });

  it('refuses the same token with other parameters: IdempotentParameterMismatch', async () => {
    await run({
      LaunchTemplate: template('plain'),
      ClientToken: 'token-2',
      SubnetId: 'subnet-0aaaa000000000001',
    });
    const error = await rejection(
      run({
        LaunchTemplate: template('plain'),
        ClientToken: 'token-2',
        SubnetId: 'subnet-0bbbb000000000002',
      }),
    );
    expect(error.name).toBe('IdempotentParameterMismatch');
    expect(sim.state.instances.size).toBe(1);
  });

  it('launches again after a refused request with the same token', async () => {
    const refused = await rejection(
      run({
        LaunchTemplate: template('plain'),
        ClientToken: 'token-3',
        SubnetId: 'subnet-0dead000000000009',
      }),
    );
    expect(refused.name).toBe('InvalidSubnetID.NotFound');
    const res = await run({ LaunchTemplate: template('plain'), ClientToken: 'token-3' });
    expect(res.Instances).toHaveLength(1);
  });

  it('carries out a call whose answer an afterEffect fault loses, so a retry finds the instance', async () => {
    sim.faults.add({ kind: 'api', action: 'RunInstances', nth: 1, afterEffect: true, error: 'server' });
    const request = { LaunchTemplate: template('plain'), ClientToken: 'token-4' };
    expect((await rejection(run(request))).name).toBe('InternalError');
    const retried = await run(request);
    expect(sim.state.instances.size).toBe(1);
    expect(retried.Instances?.[0]?.InstanceId).toBe([...sim.state.instances.keys()][0]);
  });
});

describe('eventual consistency (Eventual consistency in the Amazon EC2 API)', () => {
  it('hides a fresh instance: NotFound by id, absent from filtered describes, then visible', async () => {
    sim.setLatency({ consistency: { instances: 5_000 } });
    sim.clock.hold();
    const res = await run({ LaunchTemplate: template('plain') });
    const id = res.Instances?.[0]?.InstanceId ?? '';
    const byId = await rejection(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
    expect(byId.name).toBe('InvalidInstanceID.NotFound');
    const filtered = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id] }] }),
    );
    expect(filtered.Reservations ?? []).toEqual([]);
    const terminate = await rejection(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
    expect(terminate.name).toBe('InvalidInstanceID.NotFound');
    await sim.clock.advance(5_000);
    const later = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(later.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(id);
  });

  it('fails a whole InstanceIds describe for one fresh id, while the filter lists the others', async () => {
    const old = (await run({ LaunchTemplate: template('plain') })).Instances?.[0]?.InstanceId ?? '';
    sim.setLatency({ consistency: { instances: 5_000 } });
    sim.clock.hold();
    const fresh = (await run({ LaunchTemplate: template('plain') })).Instances?.[0]?.InstanceId ?? '';
    const byIds = await rejection(ec2.send(new DescribeInstancesCommand({ InstanceIds: [old, fresh] })));
    expect(byIds.name).toBe('InvalidInstanceID.NotFound');
    const filtered = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [old, fresh] }] }),
    );
    expect(filtered.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([old]);
  });

  it('hides a fresh image: InvalidAMIID.NotFound by id, absent from filtered describes', async () => {
    const source = (await run({ LaunchTemplate: template('plain') })).Instances?.[0]?.InstanceId ?? '';
    sim.setLatency({ consistency: { images: 5_000 } });
    sim.clock.hold();
    await sim.clock.advance(40_000); // the source instance runs
    const { ImageId } = await ec2.send(
      new CreateImageCommand({ InstanceId: source, Name: 'fresh', NoReboot: true }),
    );
    const byId = await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] })));
    expect(byId.name).toBe('InvalidAMIID.NotFound');
    const filtered = await ec2.send(
      new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: [ImageId ?? ''] }] }),
    );
    expect(filtered.Images ?? []).toEqual([]);
    await sim.clock.advance(5_000);
    const later = await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] }));
    expect(later.Images?.[0]?.ImageId).toBe(ImageId);
  });

  it("keeps a launch's tags out of tag filters for the tags window; by id it is there, tags and all", async () => {
    sim.setLatency({ consistency: { tags: 5_000 } });
    sim.clock.hold();
    const tags = [{ ResourceType: 'instance' as const, Tags: [{ Key: 'token', Value: 't-1' }] }];
    const res = await run({ LaunchTemplate: template('plain'), TagSpecifications: tags });
    const id = res.Instances?.[0]?.InstanceId ?? '';
    const byTag = () =>
      ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:token', Values: ['t-1'] }] }));
    expect((await byTag()).Reservations ?? []).toEqual([]);
    const byId = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(byId.Reservations?.[0]?.Instances?.[0]?.Tags).toContainEqual({ Key: 'token', Value: 't-1' });
    await sim.clock.advance(5_000);
    expect((await byTag()).Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(id);
  });

  it('describes a deregistered image as deregistered for a short interval, then not at all (API_DescribeImages)', async () => {
    const source = (await run({ LaunchTemplate: template('plain') })).Instances?.[0]?.InstanceId ?? '';
    sim.setLatency({ consistency: { deregistered: 5_000 } });
    sim.clock.hold();
    await sim.clock.advance(40_000);
    const { ImageId = '' } = await ec2.send(
      new CreateImageCommand({ InstanceId: source, Name: 'soon-gone', NoReboot: true }),
    );
    await sim.clock.advance(400_000); // available
    await ec2.send(new DeregisterImageCommand({ ImageId }));
    const listed = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(listed.Images?.find((i) => i.ImageId === ImageId)?.State).toBe('deregistered');
    const byId = await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId] }));
    expect(byId.Images?.[0]?.State).toBe('deregistered');
    // It cannot be deregistered twice, and an available-only filter leaves it out.
    expect((await rejection(ec2.send(new DeregisterImageCommand({ ImageId })))).name).toBe(
      'InvalidAMIID.NotFound',
    );
    const available = await ec2.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'state', Values: ['available'] }] }),
    );
    expect(available.Images?.map((i) => i.ImageId)).not.toContain(ImageId);
    await sim.clock.advance(5_000);
    const later = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(later.Images?.map((i) => i.ImageId)).not.toContain(ImageId);
  });
});
