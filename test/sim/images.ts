// AMIs and their snapshots. CreateImage snapshots every EBS volume of the instance (one snapshot per
// mapping, tagged per TagSpecifications) and the image becomes `available` after a delay that grows with
// the volume size, or `failed` when a fault says so.
import type { BlockDeviceMapping, Image, Snapshot, Tag } from '@aws-sdk/client-ec2';

import { SimError } from './errors.js';
import type { InstanceRecord } from './state.js';
import type { World } from './world.js';

export interface CreateImageSpec {
  name: string;
  description?: string;
  imageTags?: Tag[];
  snapshotTags?: Tag[];
  /** Extra or overriding mappings from the request (e.g. a bigger root volume). */
  mappings?: BlockDeviceMapping[];
}

export function addSnapshot(
  world: World,
  sizeGiB: number,
  tags: Tag[] | undefined,
  description: string,
  state: Snapshot['State'] = 'completed',
): Snapshot {
  const snapshot: Snapshot = {
    SnapshotId: world.state.id('snap'),
    VolumeId: world.state.id('vol'),
    VolumeSize: sizeGiB,
    State: state,
    Progress: state === 'completed' ? '100%' : '0%',
    StartTime: world.clock.now(),
    OwnerId: world.state.accountId,
    Description: description,
    Encrypted: false,
    StorageTier: 'standard',
    Tags: tags?.length ? tags : undefined,
  };
  world.state.snapshots.set(snapshot.SnapshotId ?? '', snapshot);
  return snapshot;
}

/** A ready image with one root snapshot (seeding). */
export function addImage(
  world: World,
  opts: {
    name: string;
    imageId?: string;
    sizeGiB?: number;
    tags?: Tag[];
    state?: Image['State'];
    architecture?: Image['Architecture'];
  },
): Image {
  const imageId = opts.imageId ?? world.state.id('ami');
  const snap = addSnapshot(world, opts.sizeGiB ?? 8, undefined, `Created by CreateImage for ${imageId}`);
  const image: Image = {
    ImageId: imageId,
    Name: opts.name,
    State: opts.state ?? 'available',
    OwnerId: world.state.accountId,
    CreationDate: world.clock.now().toISOString(),
    Architecture: opts.architecture ?? 'x86_64',
    ImageType: 'machine',
    Public: false,
    RootDeviceName: '/dev/xvda',
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    DeregistrationProtection: 'disabled',
    BlockDeviceMappings: [
      {
        DeviceName: '/dev/xvda',
        Ebs: {
          SnapshotId: snap.SnapshotId,
          VolumeSize: snap.VolumeSize,
          VolumeType: 'gp3',
          DeleteOnTermination: true,
          Encrypted: false,
        },
      },
    ],
    Tags: opts.tags?.length ? opts.tags : undefined,
  };
  world.state.images.set(imageId, image);
  return image;
}

export function createImage(world: World, source: InstanceRecord, spec: CreateImageSpec): Image {
  const state = source.instance.State?.Name;
  if (state !== 'running' && state !== 'stopped' && state !== 'stopping') {
    throw new SimError(
      'IncorrectInstanceState',
      `The instance '${source.instance.InstanceId}' is not in a state from which it can be imaged.`,
    );
  }
  for (const image of world.state.images.values()) {
    if (image.Name === spec.name && image.State !== 'deregistered') {
      throw new SimError(
        'InvalidAMIName.Duplicate',
        `AMI name ${spec.name} is already in use by AMI ${image.ImageId}`,
      );
    }
  }
  const imageId = world.state.id('ami');
  const overrides = new Map((spec.mappings ?? []).map((m) => [m.DeviceName, m]));
  const volumes = source.volumes.map((v) => ({
    device: v.device,
    sizeGiB: overrides.get(v.device)?.Ebs?.VolumeSize ?? v.sizeGiB,
  }));
  const desc = `Created by CreateImage(${source.instance.InstanceId}) for ${imageId}`;
  const mappings: BlockDeviceMapping[] = volumes.map((v) => {
    const snap = addSnapshot(world, v.sizeGiB, spec.snapshotTags, desc, 'pending');
    return {
      DeviceName: v.device,
      Ebs: {
        SnapshotId: snap.SnapshotId,
        VolumeSize: v.sizeGiB,
        VolumeType: 'gp3',
        DeleteOnTermination: true,
        Encrypted: false,
      },
    };
  });
  const image: Image = {
    ImageId: imageId,
    Name: spec.name,
    Description: spec.description,
    State: 'pending',
    OwnerId: world.state.accountId,
    CreationDate: world.clock.now().toISOString(),
    Architecture: source.instance.Architecture ?? 'x86_64',
    ImageType: 'machine',
    Public: false,
    RootDeviceName: source.instance.RootDeviceName ?? '/dev/xvda',
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    SourceInstanceId: source.instance.InstanceId,
    DeregistrationProtection: 'disabled',
    BlockDeviceMappings: mappings,
    Tags: spec.imageTags?.length ? spec.imageTags : undefined,
  };
  world.state.images.set(imageId, image);
  const sizeGiB = volumes.reduce((a, v) => a + v.sizeGiB, 0);
  const ctx = { imageId, instanceId: source.instance.InstanceId, groupName: source.groupName };
  const delay =
    world.latency.transition('imageBase', ctx) + sizeGiB * world.latency.transition('imagePerGiB', ctx);
  const fails = world.faults.imageFails(spec.name, source.instance.InstanceId ?? '');
  world.clock.after(delay, () => {
    if (image.State !== 'pending') return;
    image.State = fails ? 'failed' : 'available';
    if (fails)
      image.StateReason = {
        Code: 'Client.InternalError',
        Message: 'Client.InternalError: Snapshot creation failed',
      };
    for (const m of mappings) {
      const snap = world.state.snapshots.get(m.Ebs?.SnapshotId ?? '');
      if (snap) {
        snap.State = fails ? 'error' : 'completed';
        snap.Progress = fails ? '0%' : '100%';
      }
    }
  });
  return image;
}

/** Snapshot ids referenced by an image that is not deregistered. */
export function imageUsingSnapshot(world: World, snapshotId: string): string | undefined {
  for (const image of world.state.images.values()) {
    if (image.BlockDeviceMappings?.some((m) => m.Ebs?.SnapshotId === snapshotId)) return image.ImageId;
  }
  return undefined;
}
