/**
 * Reads what cleanup decides on, in few calls: every Describe is paginated and batched (one
 * DescribeImages for all our AMIs by tag, one DescribeInstances per 200 image ids), so a scheduled
 * cleanup over a large account stays far below the API rate limits.
 */
import {
  paginateDescribeAutoScalingGroups,
  type AutoScalingGroup,
  type LaunchTemplateSpecification,
} from '@aws-sdk/client-auto-scaling';
import {
  paginateDescribeImages,
  paginateDescribeInstances,
  paginateDescribeLaunchTemplateVersions,
  paginateDescribeLaunchTemplates,
  type Filter,
  type Image,
  type Instance,
  type Tag,
} from '@aws-sdk/client-ec2';
import pLimit from 'p-limit';
import { findGroups } from '../aws/groups.js';
import type { Selection } from '../config.js';
import { Roles, Tags } from '../constants.js';
import { awsErrorCode, wrapError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { inScope } from './policy.js';
import type {
  GroupReference,
  ImageInfo,
  InstanceInfo,
  Inventory,
  TemplateInfo,
  VersionInfo,
} from './types.js';

/** Filter values per call: EC2 accepts 200 values in one filter. */
const FilterValuesPerCall = 200;
/** Templates described at once; each is one or a few small calls. */
const DescribeConcurrency = 4;
/** Every state in which an instance still exists and may still need its image. */
const LiveStates = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

type Clients = Pick<Runtime, 'ec2' | 'autoScaling' | 'log'>;

/** Reads the groups, templates, versions, our AMIs and the instances that use them. */
export async function readInventory(options: { selection: Selection }, rt: Clients): Promise<Inventory> {
  const selected = await findGroups(options.selection, rt);
  const allGroups = await describeAllGroups(rt);
  const templates = await describeTemplates(rt);
  const byName = new Map(templates.map((t) => [t.name, t.id]));
  const references = allGroups.flatMap((group) => groupReferences(group, byName));
  const selectedNames = selected.map((group) => group.AutoScalingGroupName ?? '').filter(Boolean);
  const scopedTemplateIds = [
    ...new Set(
      selected
        .flatMap((group) => groupReferences(group, byName))
        .filter((ref) => !ref.via.startsWith('instance '))
        .map((ref) => ref.templateId),
    ),
  ].sort();
  for (const group of selected) {
    if (!group.LaunchTemplate && !group.MixedInstancesPolicy) {
      rt.log.info(`Group ${group.AutoScalingGroupName} uses no launch template; nothing of it to clean up.`);
    }
  }

  const images = await describeOurImages(rt);
  const scope = { groups: new Set(selectedNames), templates: new Set(scopedTemplateIds) };
  const candidates = images.filter((image) => inScope(image.tags, scope));
  // Any version of any template may point at one of our AMIs (a copied id, a shared AMI): when an
  // AMI may go, every version in the account is read so that none of them loses its image.
  const described =
    candidates.length > 0 ? templates : templates.filter((t) => scopedTemplateIds.includes(t.id));
  const versions = await describeVersions(described, rt);
  const candidateIds = candidates.map((image) => image.id);
  const instances = await describeInstances(
    chunk(candidateIds, FilterValuesPerCall).map((ids) => [
      { Name: 'image-id', Values: ids },
      { Name: 'instance-state-name', Values: LiveStates },
    ]),
    rt,
  );
  const temporaryInstances = await describeInstances(
    [
      [
        { Name: `tag:${Tags.Managed}`, Values: ['true'] },
        { Name: `tag:${Tags.Role}`, Values: [Roles.TemporaryInstance] },
        { Name: 'instance-state-name', Values: LiveStates },
      ],
    ],
    rt,
  );
  const snapshotIds = [...new Set(candidates.flatMap((image) => image.snapshotIds))];
  const snapshotUsers = await describeSnapshotUsers(snapshotIds, rt);
  return {
    selectedGroups: selectedNames,
    scopedTemplateIds,
    templates,
    versions,
    references,
    images,
    instances,
    temporaryInstances,
    snapshotUsers,
  };
}

/** Every group in the account and region: a template may be shared by groups outside the selection. */
async function describeAllGroups(rt: Clients): Promise<AutoScalingGroup[]> {
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

async function describeTemplates(rt: Clients): Promise<TemplateInfo[]> {
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

/**
 * Every way a group uses a launch template: its own LaunchTemplate, its MixedInstancesPolicy's
 * template and per-instance-type overrides, and the version each of its instances was launched from.
 */
export function groupReferences(
  group: AutoScalingGroup,
  byName: ReadonlyMap<string, string>,
): GroupReference[] {
  const name = group.AutoScalingGroupName ?? '';
  const refs: GroupReference[] = [];
  const add = (spec: LaunchTemplateSpecification | undefined, via: string): void => {
    const templateId = spec?.LaunchTemplateId ?? byName.get(spec?.LaunchTemplateName ?? '');
    if (!spec || !templateId) return;
    refs.push({ group: name, templateId, version: spec.Version ?? '$Default', via });
  };
  add(group.LaunchTemplate, 'LaunchTemplate');
  const mixed = group.MixedInstancesPolicy?.LaunchTemplate;
  add(mixed?.LaunchTemplateSpecification, 'MixedInstancesPolicy');
  for (const override of mixed?.Overrides ?? []) {
    add(
      override.LaunchTemplateSpecification,
      `MixedInstancesPolicy override ${override.InstanceType ?? ''}`.trim(),
    );
  }
  for (const instance of group.Instances ?? []) {
    add(instance.LaunchTemplate, `instance ${instance.InstanceId ?? ''}`);
  }
  return refs;
}

async function describeOurImages(rt: Clients): Promise<ImageInfo[]> {
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
    },
  ];
}

async function describeVersions(templates: readonly TemplateInfo[], rt: Clients): Promise<VersionInfo[]> {
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
      { LaunchTemplateId: template.id },
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
async function describeInstances(filterSets: Filter[][], rt: Clients): Promise<InstanceInfo[]> {
  const found = new Map<string, InstanceInfo>();
  try {
    for (const filters of filterSets) {
      const pages = paginateDescribeInstances({ client: rt.ec2, pageSize: 1000 }, { Filters: filters });
      for await (const page of pages) {
        for (const reservation of page.Reservations ?? []) {
          for (const instance of reservation.Instances ?? []) {
            const info = toInstanceInfo(instance);
            if (info) found.set(info.id, info);
          }
        }
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
async function describeSnapshotUsers(
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

function tagMap(tags: readonly Tag[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key) map[tag.Key] = tag.Value ?? '';
  return map;
}

/** Splits a list into runs of at most `size` items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
