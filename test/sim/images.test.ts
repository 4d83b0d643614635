import {
  CreateImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EnableImageDeregistrationProtectionCommand,
  RunInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type Simulator } from './index.js';
import { clients, rejection, waitFor } from './testkit.js';

let sim: Simulator;
let ec2: ReturnType<typeof clients>['ec2'];
let baseImage: string;

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.0001 });
  ({ ec2 } = clients(sim));
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await sim.reset();
  baseImage = sim.seed(buildFixture({ groups: 1, instancesPerGroup: 0 })).images['shop-base-0'] ?? '';
});

async function runningInstance(): Promise<string> {
  const res = await ec2.send(new RunInstancesCommand({ ImageId: baseImage, MinCount: 1, MaxCount: 1 }));
  const id = res.Instances?.[0]?.InstanceId ?? '';
  await waitFor(() => sim.state.instances.get(id)?.instance.State?.Name === 'running');
  return id;
}

const imageState = async (id: string) =>
  (await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }))).Images?.[0];

describe('images and snapshots', () => {
  it('CreateImage: pending → available, snapshots per EBS mapping with their own tags', async () => {
    const instance = await runningInstance();
    await ec2.send(new StopInstancesCommand({ InstanceIds: [instance] }));
    await waitFor(() => sim.state.instances.get(instance)?.instance.State?.Name === 'stopped');
    sim.clock.hold();
    const { ImageId } = await ec2.send(
      new CreateImageCommand({
        InstanceId: instance,
        Name: 'shop-2024-01-01',
        NoReboot: true,
        TagSpecifications: [
          { ResourceType: 'image', Tags: [{ Key: 'asg-rolling', Value: 'yes' }] },
          { ResourceType: 'snapshot', Tags: [{ Key: 'asg-rolling', Value: 'snap' }] },
        ],
      }),
    );
    const pending = await imageState(ImageId ?? '');
    expect(pending?.State).toBe('pending');
    expect(pending?.Tags).toEqual([{ Key: 'asg-rolling', Value: 'yes' }]);
    const snapId = pending?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    expect(snapId).toMatch(/^snap-/);
    const snapState = async () =>
      (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapId] }))).Snapshots?.[0]?.State;
    expect(await snapState()).toBe('pending');
    // 60 s plus 30 s per GiB: the 8 GiB root volume makes 300 s.
    await sim.clock.advance(299_999);
    expect((await imageState(ImageId ?? ''))?.State).toBe('pending');
    await sim.clock.advance(1);
    expect((await imageState(ImageId ?? ''))?.State).toBe('available');
    expect(await snapState()).toBe('completed');
    const snaps = await ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'tag:asg-rolling', Values: ['snap'] }],
      }),
    );
    expect(snaps.Snapshots?.map((s) => [s.SnapshotId, s.State])).toEqual([[snapId, 'completed']]);
    const mine = await ec2.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [{ Name: 'tag-key', Values: ['asg-rolling'] }],
      }),
    );
    expect(mine.Images?.map((i) => i.ImageId)).toEqual([ImageId]);
    expect((await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images).toEqual([]);
  });

  it('an injected fault makes the AMI end failed', async () => {
    const instance = await runningInstance();
    sim.faults.add({ kind: 'image', name: 'broken-*' });
    const { ImageId } = await ec2.send(
      new CreateImageCommand({ InstanceId: instance, Name: 'broken-1', NoReboot: true }),
    );
    await waitFor(async () => (await imageState(ImageId ?? ''))?.State === 'failed');
    expect((await imageState(ImageId ?? ''))?.StateReason?.Code).toBe('Client.InternalError');
  });

  it('refuses to delete a snapshot in use, allows it after DeregisterImage; protection blocks deregistering', async () => {
    const image = await imageState(baseImage);
    const snap = image?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    const inUse = await rejection(ec2.send(new DeleteSnapshotCommand({ SnapshotId: snap })));
    expect(inUse.name).toBe('InvalidSnapshot.InUse');
    await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: baseImage }));
    const protectedErr = await rejection(ec2.send(new DeregisterImageCommand({ ImageId: baseImage })));
    expect(protectedErr.name).toBe('OperationNotPermitted');
    sim.state.images.get(baseImage)!.DeregistrationProtection = 'disabled';
    await ec2.send(new DeregisterImageCommand({ ImageId: baseImage }));
    expect((await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: [baseImage] })))).name).toBe(
      'InvalidAMIID.NotFound',
    );
    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snap }));
    expect((await rejection(ec2.send(new DeleteSnapshotCommand({ SnapshotId: snap })))).name).toBe(
      'InvalidSnapshot.NotFound',
    );
    expect((await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-nothex'] })))).name).toBe(
      'InvalidAMIID.Malformed',
    );
  });

  it('pages DescribeImages and DescribeSnapshots', async () => {
    sim.seed({
      images: Array.from({ length: 12 }, (_, i) => ({ name: `img-${i}`, tags: { set: 'paged' } })),
    });
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ec2.send(
        new DescribeImagesCommand({
          Owners: ['self'],
          Filters: [{ Name: 'tag:set', Values: ['paged'] }],
          MaxResults: 5,
          NextToken: token,
        }),
      );
      seen.push(...(page.Images ?? []).map((i) => i.Name ?? ''));
      token = page.NextToken;
    } while (token);
    expect(seen).toHaveLength(12);
    const snaps: string[] = [];
    do {
      const page = await ec2.send(
        new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 5, NextToken: token }),
      );
      snaps.push(...(page.Snapshots ?? []).map((s) => s.SnapshotId ?? ''));
      token = page.NextToken;
    } while (token);
    expect(new Set(snaps).size).toBe(13);
  });
});
