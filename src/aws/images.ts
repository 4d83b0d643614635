/** EC2 image calls: create the AMI of a temporary instance and describe many images at once. */
import {
  CreateImageCommand,
  type CreateImageCommandInput,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  paginateDescribeImages,
  type EC2Client,
  type Image,
  type Tag as Ec2Tag,
} from '@aws-sdk/client-ec2';
import { wrapError } from '../lib/errors.js';
import { chunk } from './batch.js';
import { Roles, Tags } from './tags.js';

export interface CreateImageOptions {
  readonly instanceId: string;
  readonly name: string;
  readonly description: string;
  /** Put on the image and its snapshots. */
  readonly tags: readonly Ec2Tag[];
  /** True when the instance is still running: image it without the reboot. */
  readonly noReboot: boolean;
  readonly signal?: AbortSignal;
}

/** The CreateImage request; the permission preflight sends the same with DryRun. */
export function createImageRequest(options: CreateImageOptions): CreateImageCommandInput {
  return {
    InstanceId: options.instanceId,
    Name: options.name,
    Description: options.description,
    NoReboot: options.noReboot,
    TagSpecifications: [
      { ResourceType: 'image', Tags: [...options.tags] },
      { ResourceType: 'snapshot', Tags: [...options.tags] },
    ],
  };
}

/** Starts an AMI from an instance; the image is `pending` until its snapshots are complete. */
export async function createImage(ec2: EC2Client, options: CreateImageOptions): Promise<string> {
  try {
    const result = await ec2.send(
      new CreateImageCommand(createImageRequest(options)),
      options.signal ? { abortSignal: options.signal } : {},
    );
    if (!result.ImageId) throw new Error('CreateImage returned no image id');
    return result.ImageId;
  } catch (error) {
    throw wrapError(`Could not create an image of ${options.instanceId}`, error);
  }
}

/**
 * Our own images among the given ids, by id. An `image-id` filter, not ImageIds: an id AWS does not
 * list yet must not fail the batch.
 */
export async function describeImages(ec2: EC2Client, ids: readonly string[]): Promise<Map<string, Image>> {
  const found = new Map<string, Image>();
  for (const part of chunk(ids, 200)) {
    const pages = paginateDescribeImages(
      { client: ec2, pageSize: 1000 },
      { Owners: ['self'], Filters: [{ Name: 'image-id', Values: part }] },
    );
    for await (const page of pages) {
      for (const image of page.Images ?? []) if (image.ImageId) found.set(image.ImageId, image);
    }
  }
  return found;
}

/**
 * Images by id whoever owns them (a rollback may return to a public base image), without failing
 * on an id that no longer exists: it is simply not in the map.
 */
export async function describeAnyImages(ec2: EC2Client, ids: readonly string[]): Promise<Map<string, Image>> {
  const found = new Map<string, Image>();
  for (const part of chunk([...new Set(ids)], 200)) {
    const pages = paginateDescribeImages(
      { client: ec2, pageSize: 1000 },
      { Filters: [{ Name: 'image-id', Values: part }] },
    );
    for await (const page of pages) {
      for (const image of page.Images ?? []) if (image.ImageId) found.set(image.ImageId, image);
    }
  }
  return found;
}

/**
 * Our available AMIs whose tag `key` has one of `values` (`*` wildcards as EC2 filters allow),
 * asking at most 200 values a call.
 */
export async function findOurAmisByTag(
  ec2: EC2Client,
  options: { readonly key: string; readonly values: readonly string[] },
): Promise<Image[]> {
  const found = new Map<string, Image>();
  for (const part of chunk([...new Set(options.values)], 200)) {
    const pages = paginateDescribeImages(
      { client: ec2, pageSize: 1000 },
      {
        Owners: ['self'],
        Filters: [
          { Name: `tag:${Tags.Managed}`, Values: ['true'] },
          { Name: `tag:${Tags.Role}`, Values: [Roles.Ami] },
          { Name: 'state', Values: ['available'] },
          { Name: `tag:${options.key}`, Values: part },
        ],
      },
    );
    try {
      for await (const page of pages) {
        for (const image of page.Images ?? []) if (image.ImageId) found.set(image.ImageId, image);
      }
    } catch (error) {
      throw wrapError(`Could not look up our AMIs by ${options.key}`, error);
    }
  }
  return [...found.values()];
}

/** What discardImage did with the image's snapshots. */
export interface DiscardedImage {
  readonly deletedSnapshots: readonly string[];
  /** Snapshots AWS did not delete, with its reason; cleanup finds them later by our tags. */
  readonly keptSnapshots: readonly string[];
}

/**
 * Deregisters an image a run gave up on, with the snapshots AWS knows belong to it (even those of a
 * pending image we never saw), so it neither costs money nor takes a slot of cleanup-keep. Never
 * takes an abort signal: it runs exactly when a run is being cancelled.
 */
export async function discardImage(ec2: EC2Client, imageId: string): Promise<DiscardedImage> {
  try {
    const result = await ec2.send(
      new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true }),
    );
    const snapshots = result.DeleteSnapshotResults ?? [];
    return {
      deletedSnapshots: snapshots
        .filter((r) => r.ReturnCode === 'success')
        .flatMap((r) => r.SnapshotId ?? []),
      keptSnapshots: snapshots
        .filter((r) => r.ReturnCode !== 'success')
        .map((r) => `${r.SnapshotId ?? '?'} (${r.ReturnCode ?? 'unknown'})`),
    };
  } catch (error) {
    throw wrapError(`Could not deregister ${imageId}`, error);
  }
}

/** Deregisters one AMI (its snapshots stay: cleanup deletes them once no image uses them). */
export async function deregisterImage(ec2: EC2Client, imageId: string, signal?: AbortSignal): Promise<void> {
  await ec2.send(new DeregisterImageCommand({ ImageId: imageId }), { abortSignal: signal });
}

/** Deletes one EBS snapshot. */
export async function deleteSnapshot(
  ec2: EC2Client,
  snapshotId: string,
  signal?: AbortSignal,
): Promise<void> {
  await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }), { abortSignal: signal });
}
