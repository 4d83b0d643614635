// EC2 image and snapshot actions: CreateImage, DescribeImages, DeregisterImage, DescribeSnapshots,
// DeleteSnapshot, Enable/DisableImageDeregistrationProtection.
import type {
  CreateImageRequest,
  CreateImageResult,
  DeleteSnapshotRequest,
  DeleteSnapshotReturnCode,
  DeregisterImageRequest,
  DeregisterImageResult,
  DescribeImagesRequest,
  DescribeImagesResult,
  DescribeSnapshotsRequest,
  DescribeSnapshotsResult,
  DisableImageDeregistrationProtectionRequest,
  EnableImageDeregistrationProtectionRequest,
  Image,
  Snapshot,
} from '@aws-sdk/client-ec2';

import { tagsFor } from './ec2-instances.js';
import { SimError, invalidParam } from './errors.js';
import { applyFilters, paginate, type FilterSpec } from './filters.js';
import { op, type Handler } from './handler.js';
import { createImage, imageUsingSnapshot } from './images.js';
import { getInstance, rebootForImage } from './instances.js';
import type { World } from './world.js';

function checkMaxResults(max: number | undefined, withIds: boolean): void {
  if (max === undefined) return;
  if (withIds)
    throw new SimError(
      'InvalidParameterCombination',
      'The parameter ids cannot be used with the parameter maxResults',
    );
  if (max < 5 || max > 1000)
    throw invalidParam(
      `Value ( ${max} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
    );
}

const owners = (world: World, list: string[] | undefined): Set<string> | undefined =>
  list?.length ? new Set(list.map((o) => (o === 'self' ? world.state.accountId : o))) : undefined;

const imageFilters: FilterSpec<Image> = {
  fields: {
    'image-id': (i) => i.ImageId,
    name: (i) => i.Name,
    state: (i) => i.State,
    'owner-id': (i) => i.OwnerId,
    'is-public': (i) => i.Public,
    architecture: (i) => i.Architecture,
    description: (i) => i.Description,
    'block-device-mapping.snapshot-id': (i) => i.BlockDeviceMappings?.map((m) => m.Ebs?.SnapshotId),
    'source-instance-id': (i) => i.SourceInstanceId,
  },
  tags: (i) => i.Tags,
  invalid: (name) => invalidParam(`The filter '${name}' is invalid`),
};

const snapshotFilters: FilterSpec<Snapshot> = {
  fields: {
    'snapshot-id': (s) => s.SnapshotId,
    status: (s) => s.State,
    'owner-id': (s) => s.OwnerId,
    'volume-size': (s) => s.VolumeSize,
    'volume-id': (s) => s.VolumeId,
    description: (s) => s.Description,
  },
  tags: (s) => s.Tags,
  invalid: (name) => invalidParam(`The filter '${name}' is invalid`),
};

/** Images a describe can see: one CreateImage just made stays hidden for the consistency window. */
const visibleImage = (world: World, image: Image): boolean =>
  world.visible(world.state.imagesVisibleAt.get(image.ImageId ?? ''));

export function getImage(world: World, id: string): Image {
  if (!/^ami-[0-9a-f]{8,17}$/.test(id))
    throw new SimError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
  const image = world.state.images.get(id);
  if (!image || !visibleImage(world, image))
    throw new SimError('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
  return image;
}

const createImageHandler = op((input: CreateImageRequest, world: World): CreateImageResult => {
  if (!input.Name) throw new SimError('MissingParameter', 'The request must contain the parameter name');
  const source = getInstance(world, input.InstanceId ?? '');
  const image = createImage(world, source, {
    name: input.Name,
    description: input.Description,
    imageTags: tagsFor(input.TagSpecifications, 'image'),
    snapshotTags: tagsFor(input.TagSpecifications, 'snapshot'),
    mappings: input.BlockDeviceMappings,
  });
  world.state.imagesVisibleAt.set(
    image.ImageId ?? '',
    world.clock.simTime() + world.latency.consistency.images,
  );
  world.state.tagsVisibleAt.set(image.ImageId ?? '', world.clock.simTime() + world.latency.consistency.tags);
  if (!input.NoReboot) rebootForImage(world, source);
  return { ImageId: image.ImageId };
});

/** Deregistered images a describe still returns, as AWS does for a short while. */
function recentlyDeregistered(world: World): Map<string, Image> {
  const now = world.clock.simTime();
  const recent = new Map<string, Image>();
  for (const [id, { image, until }] of world.state.deregisteredImages) {
    if (now < until) recent.set(id, image);
    else world.state.deregisteredImages.delete(id);
  }
  return recent;
}

const describeImages = op((input: DescribeImagesRequest, world: World): DescribeImagesResult => {
  const ids = input.ImageIds ?? [];
  checkMaxResults(input.MaxResults, ids.length > 0);
  const recent = recentlyDeregistered(world);
  const source = ids.length
    ? ids.map((id) => recent.get(id) ?? getImage(world, id))
    : [...[...world.state.images.values()].filter((i) => visibleImage(world, i)), ...recent.values()];
  const allowed = owners(world, input.Owners);
  const matching = applyFilters(source, input.Filters, {
    ...imageFilters,
    // Creation tags are searchable only after the tags window (eventual consistency).
    tags: (i) => (world.visible(world.state.tagsVisibleAt.get(i.ImageId ?? '')) ? i.Tags : []),
  }).filter((i) => !allowed || allowed.has(i.OwnerId ?? ''));
  const { page, next } = paginate(matching, {
    token: input.NextToken,
    max: input.MaxResults ?? 1000,
    invalidTokenCode: 'InvalidPaginationToken',
  });
  return { Images: page, NextToken: next };
});

const deregisterImage = op((input: DeregisterImageRequest, world: World): DeregisterImageResult => {
  const image = getImage(world, input.ImageId ?? '');
  if (image.DeregistrationProtection?.startsWith('enabled')) {
    throw new SimError(
      'OperationNotPermitted',
      `The image ${image.ImageId} can't be deregistered because deregistration protection is enabled.`,
    );
  }
  world.state.images.delete(image.ImageId ?? '');
  if (world.latency.consistency.deregistered > 0)
    world.state.deregisteredImages.set(image.ImageId ?? '', {
      image: { ...image, State: 'deregistered', BlockDeviceMappings: [] },
      until: world.clock.simTime() + world.latency.consistency.deregistered,
    });
  const results: DeleteSnapshotReturnCode[] = [];
  if (input.DeleteAssociatedSnapshots) {
    for (const m of image.BlockDeviceMappings ?? []) {
      const id = m.Ebs?.SnapshotId;
      if (!id) continue;
      // A snapshot another AMI still uses stays, and the answer says it was skipped.
      if (imageUsingSnapshot(world, id)) {
        results.push({ SnapshotId: id, ReturnCode: 'skipped' });
        continue;
      }
      world.state.snapshots.delete(id);
      results.push({ SnapshotId: id, ReturnCode: 'success' });
    }
  }
  return { Return: true, DeleteSnapshotResults: input.DeleteAssociatedSnapshots ? results : undefined };
});

const describeSnapshots = op((input: DescribeSnapshotsRequest, world: World): DescribeSnapshotsResult => {
  const ids = input.SnapshotIds ?? [];
  checkMaxResults(input.MaxResults, ids.length > 0);
  const source = ids.map((id) => {
    const s = world.state.snapshots.get(id);
    if (!s) throw new SimError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
    return s;
  });
  const allowed = owners(world, input.OwnerIds);
  const matching = applyFilters(
    ids.length ? source : world.state.snapshots.values(),
    input.Filters,
    snapshotFilters,
  ).filter((s) => !allowed || allowed.has(s.OwnerId ?? ''));
  const { page, next } = paginate(matching, {
    token: input.NextToken,
    max: input.MaxResults ?? 1000,
    invalidTokenCode: 'InvalidPaginationToken',
  });
  return { Snapshots: page, NextToken: next };
});

const deleteSnapshot = op((input: DeleteSnapshotRequest, world: World): void => {
  const id = input.SnapshotId ?? '';
  if (!/^snap-[0-9a-f]{8,17}$/.test(id))
    throw new SimError('InvalidSnapshotID.Malformed', `Invalid id: "${id}" (expecting "snap-...")`);
  if (!world.state.snapshots.has(id))
    throw new SimError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
  const user = imageUsingSnapshot(world, id);
  if (user) throw new SimError('InvalidSnapshot.InUse', `The snapshot ${id} is currently in use by ${user}`);
  world.state.snapshots.delete(id);
});

const protection = (enabled: boolean) =>
  op(
    (
      input: EnableImageDeregistrationProtectionRequest | DisableImageDeregistrationProtectionRequest,
      world: World,
    ) => {
      const image = getImage(world, input.ImageId ?? '');
      image.DeregistrationProtection = enabled ? 'enabled' : 'disabled';
      return { Return: enabled ? 'enabled' : 'disabled' };
    },
  );

export const imageHandlers: Record<string, Handler> = {
  CreateImage: createImageHandler,
  DescribeImages: describeImages,
  DeregisterImage: deregisterImage,
  DescribeSnapshots: describeSnapshots,
  DeleteSnapshot: deleteSnapshot,
  EnableImageDeregistrationProtection: protection(true),
  DisableImageDeregistrationProtection: protection(false),
};
