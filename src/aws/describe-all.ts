/**
 * The Describe calls behind cleanup's inventory, each paginated, batched where AWS takes lists, and
 * wrapped with what was being read, turning AWS shapes into the plain data the policy decides on.
 */
import {
  paginateDescribeAutoScalingGroups,
  paginateDescribeLaunchConfigurations,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import {
  paginateDescribeImages,
  paginateDescribeLaunchTemplateVersions,
  paginateDescribeLaunchTemplates,
  paginateDescribeSnapshots,
  type Filter,
  type Image,
  type Instance,
  type Tag,
} from '@aws-sdk/client-ec2';
import pLimit from 'p-limit';
import { chunk, FilterValuesPerCall } from './batch.js';
import { instancesMatching } from './instances.js';
import { Roles, Tags } from './tags.js';
import { awsErrorCode, wrapError } from '../lib/errors.js';
import type { Runtime } from './clients.js';
import type {
  ImageInfo,
  InstanceInfo,
  LaunchConfigurationInfo,
  SnapshotInfo,
  TemplateInfo,
  VersionInfo,
} from './resources.js';

/** DescribeLaunchConfigurations accepts at most 50 names per call. */
const LaunchConfigurationNamesPerCall = 50;
/** Templates described at once; each is one or a few small calls. */
const DescribeConcurrency = 4;

type Clients = Pick<Runtime, 'ec2' | 'autoScaling' | 'log'>;

/** Every group in the account and region: a template may be shared by groups outside the selection. */
export async function describeAllGroups(rt: Clients): Promise<AutoScalingGroup[]> {
  const groups: AutoScalingGroup[] = [];
  try {
    for await (const page of paginateDescribeAutoScalingGroups(
      { client: rt.autoScaling, pageSize: 100 },
      {},
    )) {
      groups.push(...(page.AutoScalingGroups ?? []));
    }
  } catch (error) {
    throw wrapError('Could not describe all Auto Scaling groups', error);
  }
  return groups;
}

/** Every launch template of the account and region, with its default and latest version numbers. */
export async function describeTemplates(rt: Clients): Promise<TemplateInfo[]> {
  const templates: TemplateInfo[] = [];
  try {
    for await (const page of paginateDescribeLaunchTemplates({ client: rt.ec2, pageSize: 200 }, {})) {
      for (const t of page.LaunchTemplates ?? []) {
        if (!t.LaunchTemplateId) continue;
        templates.push({
          id: t.LaunchTemplateId,
          name: t.LaunchTemplateName ?? '',
          defaultVersion: t.DefaultVersionNumber ?? 0,
          latestVersion: t.LatestVersionNumber ?? 0,
        });
      }
    }
  } catch (error) {
    throw wrapError('Could not describe the launch templates', error);
  }
  return templates;
}

/** All our AMIs: owned by this account and carrying the Managed tag, in any state. */
export async function describeOurImages(rt: Clients): Promise<ImageInfo[]> {
  const images: ImageInfo[] = [];
  try {
    const pages = paginateDescribeImages(
      { client: rt.ec2, pageSize: 1000 },
      { Owners: ['self'], Filters: [{ Name: `tag:${Tags.Managed}`, Values: ['true'] }] },
    );
    for await (const page of pages) images.push(...(page.Images ?? []).flatMap(toImageInfo));
  } catch (error) {
    throw wrapError('Could not describe our AMIs', error);
  }
  return images;
}

function toImageInfo(image: Image): ImageInfo[] {
  if (!image.ImageId) return [];
  const created = Date.parse(image.CreationDate ?? '');
  return [
    {
      id: image.ImageId,
      state: image.State ?? '',
      createdAt: Number.isFinite(created) ? created : 0,
      tags: tagMap(image.Tags),
      snapshotIds: (image.BlockDeviceMappings ?? []).flatMap((m) =>
        m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
      ),
      deregistrationProtection: image.DeregistrationProtection ?? '',
      public: image.Public === true,
    },
  ];
}

/** Every version of the given templates, a few templates at a time. */
export async function describeVersions(
  templates: readonly TemplateInfo[],
  rt: Clients,
): Promise<VersionInfo[]> {
  const limit = pLimit(DescribeConcurrency);
  const lists = await Promise.all(
    templates.map((template) => limit(() => describeTemplateVersions(template, rt))),
  );
  return lists.flat();
}

async function describeTemplateVersions(template: TemplateInfo, rt: Clients): Promise<VersionInfo[]> {
  const versions: VersionInfo[] = [];
  try {
    const pages = paginateDescribeLaunchTemplateVersions(
      { client: rt.ec2, pageSize: 200 },
      // ResolveAlias: a `resolve:ssm:` image is listed as the AMI it launches today, which is in use.
      { LaunchTemplateId: template.id, ResolveAlias: true },
    );
    for await (const page of pages) {
      for (const v of page.LaunchTemplateVersions ?? []) {
        if (v.VersionNumber === undefined) continue;
        const imageId = v.LaunchTemplateData?.ImageId;
        versions.push({
          templateId: template.id,
          version: v.VersionNumber,
          imageId: imageId?.startsWith('ami-') ? imageId : undefined,
          description: v.VersionDescription ?? '',
          createdAt: v.CreateTime ? new Date(v.CreateTime).getTime() : 0,
        });
      }
    }
  } catch (error) {
    // A template deleted since it was listed has no versions left to protect or delete.
    if (awsErrorCode(error)?.startsWith('InvalidLaunchTemplateId.NotFound')) return [];
    throw wrapError(`Could not describe the versions of launch template ${template.id}`, error);
  }
  return versions;
}

/** Runs one paginated DescribeInstances per filter set and merges the instances by id. */
export async function describeInstanceInfos(filterSets: Filter[][], rt: Clients): Promise<InstanceInfo[]> {
  const found = new Map<string, InstanceInfo>();
  try {
    for (const filters of filterSets) {
      for (const instance of await instancesMatching(rt.ec2, filters)) {
        const info = toInstanceInfo(instance);
        if (info) found.set(info.id, info);
      }
    }
  } catch (error) {
    throw wrapError('Could not describe the instances', error);
  }
  return [...found.values()];
}

function toInstanceInfo(instance: Instance): InstanceInfo | undefined {
  if (!instance.InstanceId) return undefined;
  return {
    id: instance.InstanceId,
    imageId: instance.ImageId,
    state: instance.State?.Name ?? '',
    launchedAt: instance.LaunchTime ? new Date(instance.LaunchTime).getTime() : 0,
    tags: tagMap(instance.Tags),
  };
}

/** Snapshot id → every image of this account built on it, ours or not. */
export async function describeSnapshotUsers(
  snapshotIds: readonly string[],
  rt: Clients,
): Promise<Record<string, string[]>> {
  const users: Record<string, string[]> = {};
  const wanted = new Set(snapshotIds);
  try {
    for (const ids of chunk(snapshotIds, FilterValuesPerCall)) {
      const pages = paginateDescribeImages(
        { client: rt.ec2, pageSize: 1000 },
        { Owners: ['self'], Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: ids }] },
      );
      for await (const page of pages) {
        for (const image of page.Images ?? []) {
          // A deregistered image stays listed for a short while but no longer holds its snapshots.
          if (image.State === 'deregistered') continue;
          for (const mapping of image.BlockDeviceMappings ?? []) {
            const snapshotId = mapping.Ebs?.SnapshotId;
            if (!snapshotId || !wanted.has(snapshotId) || !image.ImageId) continue;
            const list = (users[snapshotId] ??= []);
            if (!list.includes(image.ImageId)) list.push(image.ImageId);
          }
        }
      }
    }
  } catch (error) {
    throw wrapError('Could not find which images use our snapshots', error);
  }
  return users;
}

/** Our snapshots: made by CreateImage with our tags, owned by this account. */
export async function describeOurSnapshots(rt: Clients): Promise<SnapshotInfo[]> {
  const snapshots: SnapshotInfo[] = [];
  try {
    const pages = paginateDescribeSnapshots(
      { client: rt.ec2, pageSize: 1000 },
      {
        OwnerIds: ['self'],
        Filters: [
          { Name: `tag:${Tags.Managed}`, Values: ['true'] },
          { Name: `tag:${Tags.Role}`, Values: [Roles.Ami] },
        ],
      },
    );
    for await (const page of pages) {
      for (const snapshot of page.Snapshots ?? []) {
        if (!snapshot.SnapshotId) continue;
        snapshots.push({
          id: snapshot.SnapshotId,
          state: snapshot.State ?? '',
          startedAt: snapshot.StartTime ? new Date(snapshot.StartTime).getTime() : 0,
          tags: tagMap(snapshot.Tags),
          description: snapshot.Description ?? '',
        });
      }
    }
  } catch (error) {
    throw wrapError('Could not describe our snapshots', error);
  }
  return snapshots;
}

/** The launch configurations groups use: their images are in use as much as a template's. */
export async function describeLaunchConfigurations(
  groups: readonly AutoScalingGroup[],
  rt: Clients,
): Promise<LaunchConfigurationInfo[]> {
  const users = new Map<string, string[]>();
  for (const group of groups) {
    const name = group.LaunchConfigurationName;
    if (name) users.set(name, [...(users.get(name) ?? []), group.AutoScalingGroupName ?? '']);
  }
  const found: LaunchConfigurationInfo[] = [];
  try {
    for (const names of chunk([...users.keys()].sort(), LaunchConfigurationNamesPerCall)) {
      const pages = paginateDescribeLaunchConfigurations(
        { client: rt.autoScaling, pageSize: 100 },
        { LaunchConfigurationNames: names },
      );
      for await (const page of pages) {
        for (const lc of page.LaunchConfigurations ?? []) {
          const name = lc.LaunchConfigurationName ?? '';
          found.push({ name, imageId: lc.ImageId, groups: users.get(name) ?? [] });
        }
      }
    }
  } catch (error) {
    throw wrapError('Could not describe the launch configurations of the groups', error);
  }
  return found;
}

export function tagMap(tags: readonly Tag[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key) map[tag.Key] = tag.Value ?? '';
  return map;
}
