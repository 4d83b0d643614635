// EBS volumes of instances: each volume an instance launches with is listed by DescribeVolumes,
// `in-use` while attached. On termination a volume whose DeleteOnTermination is false stays, in
// state `available`, and costs money until DeleteVolume; the others are deleted with the instance.
// DeleteVolume refuses a volume still attached (VolumeInUse). Modelled after
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/preserving-volumes-on-termination.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVolumes.html and
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVolume.html.
import type {
  BlockDeviceMapping,
  DeleteVolumeRequest,
  DescribeVolumesRequest,
  DescribeVolumesResult,
  LaunchTemplateBlockDeviceMappingRequest,
  Tag,
  Volume,
} from '@aws-sdk/client-ec2';

import { SimError, invalidParam } from './errors.js';
import { applyFilters, paginate, type FilterSpec } from './filters.js';
import { op, type Handler } from './handler.js';
import type { InstanceRecord } from './state.js';
import type { World } from './world.js';

/** What a launch says about its volumes: the mappings (image, template, request; later wins) and tags. */
export interface VolumeSpec {
  mappings?: readonly (BlockDeviceMapping | LaunchTemplateBlockDeviceMappingRequest)[];
  tags?: readonly Tag[];
}

/** Creates the volumes of a new instance, attached, with the DeleteOnTermination its mappings set. */
export function attachVolumes(world: World, record: InstanceRecord, spec: VolumeSpec): void {
  const keep = new Map<string, boolean>();
  for (const m of spec.mappings ?? []) {
    const flag = m.Ebs?.DeleteOnTermination;
    if (m.DeviceName && flag !== undefined) keep.set(m.DeviceName, flag);
  }
  const now = world.clock.now();
  for (const v of record.volumes) {
    const deleteOnTermination = keep.get(v.device) ?? true;
    const mapping = record.instance.BlockDeviceMappings?.find((m) => m.Ebs?.VolumeId === v.volumeId);
    if (mapping?.Ebs) mapping.Ebs.DeleteOnTermination = deleteOnTermination;
    world.state.volumes.set(v.volumeId, {
      VolumeId: v.volumeId,
      Size: v.sizeGiB,
      VolumeType: 'gp3',
      State: 'in-use',
      CreateTime: now,
      AvailabilityZone: record.instance.Placement?.AvailabilityZone,
      Encrypted: false,
      Attachments: [
        {
          VolumeId: v.volumeId,
          InstanceId: record.instance.InstanceId,
          Device: v.device,
          State: 'attached',
          AttachTime: now,
          DeleteOnTermination: deleteOnTermination,
        },
      ],
      Tags: spec.tags?.length ? spec.tags.map((t) => ({ ...t })) : undefined,
    });
  }
}

/** At termination: volumes marked DeleteOnTermination go, the others stay `available`. */
export function releaseVolumes(world: World, record: InstanceRecord): void {
  for (const v of record.volumes) {
    const volume = world.state.volumes.get(v.volumeId);
    if (!volume) continue;
    if (volume.Attachments?.[0]?.DeleteOnTermination !== false) {
      world.state.volumes.delete(v.volumeId);
      continue;
    }
    volume.State = 'available';
    volume.Attachments = [];
  }
}

const volumeFilters: FilterSpec<Volume> = {
  fields: {
    'volume-id': (v) => v.VolumeId,
    status: (v) => v.State,
    size: (v) => v.Size,
    'volume-type': (v) => v.VolumeType,
    'availability-zone': (v) => v.AvailabilityZone,
    'attachment.instance-id': (v) => v.Attachments?.map((a) => a.InstanceId),
    'attachment.delete-on-termination': (v) => v.Attachments?.map((a) => String(a.DeleteOnTermination)),
    'create-time': (v) => v.CreateTime?.toISOString(),
  },
  tags: (v) => v.Tags,
  invalid: (name) => invalidParam(`The filter '${name}' is invalid`),
};

function getVolume(world: World, id: string): Volume {
  if (!/^vol-[0-9a-f]{8,17}$/.test(id))
    throw new SimError('InvalidVolumeID.Malformed', `Invalid id: "${id}" (expecting "vol-...")`);
  const volume = world.state.volumes.get(id);
  if (!volume) throw new SimError('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
  return volume;
}

const describeVolumes = op((input: DescribeVolumesRequest, world: World): DescribeVolumesResult => {
  const ids = input.VolumeIds ?? [];
  if (ids.length && input.MaxResults !== undefined)
    throw new SimError(
      'InvalidParameterCombination',
      'The parameter volumeSet cannot be used with the parameter maxResults',
    );
  const source = ids.length ? ids.map((id) => getVolume(world, id)) : world.state.volumes.values();
  const matching = applyFilters(source, input.Filters, volumeFilters);
  const { page, next } = paginate(matching, {
    token: input.NextToken,
    max: input.MaxResults ?? 1000,
    invalidTokenCode: 'InvalidPaginationToken',
  });
  return { Volumes: page, NextToken: next };
});

const deleteVolume = op((input: DeleteVolumeRequest, world: World): void => {
  const volume = getVolume(world, input.VolumeId ?? '');
  if (volume.State !== 'available')
    throw new SimError(
      'VolumeInUse',
      `Volume ${volume.VolumeId} is currently attached to ${volume.Attachments?.[0]?.InstanceId ?? 'an instance'}`,
    );
  world.state.volumes.delete(volume.VolumeId ?? '');
});

export const volumeHandlers: Record<string, Handler> = {
  DescribeVolumes: describeVolumes,
  DeleteVolume: deleteVolume,
};
