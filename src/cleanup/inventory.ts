/**
 * Reads what cleanup decides on, in few calls: every Describe is paginated and batched (one
 * DescribeImages and one DescribeSnapshots for all of ours by tag, one DescribeInstances per 200
 * image ids, groups described once and the selection picked from them), so a scheduled cleanup over
 * a large account stays far below the API rate limits.
 */
import type { AutoScalingGroup, LaunchTemplateSpecification } from '@aws-sdk/client-auto-scaling';
import { chunk, FilterValuesPerCall, LiveStates } from '../aws/batch.js';
import { selectGroups } from '../aws/groups.js';
import type { Selection } from '../config/index.js';
import { Roles, Tags } from '../aws/tags.js';
import type { Runtime } from '../aws/clients.js';
import {
  describeAllGroups,
  describeInstanceInfos,
  describeLaunchConfigurations,
  describeOurImages,
  describeOurSnapshots,
  describeSnapshotUsers,
  describeTemplates,
  describeVersions,
} from '../aws/describe-all.js';
import { describeSharing, describeWarmPoolInstances } from '../aws/describe-usage.js';
import { resolveVersionNumber } from '../aws/launch-templates.js';
import { describeOurAvailableVolumes } from '../aws/volumes.js';
import { inScope, selectionScope } from './scope.js';
import { isInstanceUse, type GroupReference, type Inventory } from './types.js';
import type { TemplateInfo, VersionInfo, WarmPoolInstance } from '../aws/resources.js';

type Clients = Pick<Runtime, 'ec2' | 'autoScaling' | 'log'>;

/** Reads the groups, templates, versions, our AMIs and snapshots, and what uses them. */
export async function readInventory(options: { selection: Selection }, rt: Clients): Promise<Inventory> {
  const { allGroups, templates, references } = await readReferences(rt);
  const byName = new Map(templates.map((t) => [t.name, t.id]));
  const selected = selectGroups(allGroups, options.selection);
  const selectedNames = selected.map((group) => group.AutoScalingGroupName ?? '').filter(Boolean);
  const ownReferences = selected
    .flatMap((group) => groupReferences(group, byName))
    .filter((ref) => !isInstanceUse(ref));
  const scopedTemplateIds = [...new Set(ownReferences.map((ref) => ref.templateId))].sort();
  for (const group of selected) {
    if (!group.LaunchTemplate && !group.MixedInstancesPolicy) {
      rt.log.info(`Group ${group.AutoScalingGroupName} uses no launch template; nothing of it to clean up.`);
    }
  }

  const scopedVersions = await describeVersions(
    templates.filter((t) => scopedTemplateIds.includes(t.id)),
    rt,
  );
  const selectedImages = resolveImages(ownReferences, templates, scopedVersions);
  const images = await describeOurImages(rt);
  const scope = selectionScope({
    selectedGroups: selectedNames,
    scopedTemplateIds,
    selectedImages,
    images,
  });
  const candidates = images.filter((image) => inScope(image.tags, scope, image.id));
  // Any version of any template, and any launch configuration, may point at one of our AMIs (a
  // copied id, a shared AMI): when an AMI may go, all of them are read so that none loses its image.
  const others = templates.filter((t) => !scopedTemplateIds.includes(t.id));
  const versions =
    candidates.length > 0 ? [...scopedVersions, ...(await describeVersions(others, rt))] : scopedVersions;
  const launchConfigurations = candidates.length > 0 ? await describeLaunchConfigurations(allGroups, rt) : [];
  const candidateIds = candidates.map((image) => image.id);
  const instances = await describeInstanceInfos(
    chunk(candidateIds, FilterValuesPerCall).map((ids) => [
      { Name: 'image-id', Values: ids },
      { Name: 'instance-state-name', Values: [...LiveStates] },
    ]),
    rt,
  );
  const temporaryInstances = await describeInstanceInfos(
    [
      [
        { Name: `tag:${Tags.Managed}`, Values: ['true'] },
        { Name: `tag:${Tags.Role}`, Values: [Roles.TemporaryInstance] },
        { Name: 'instance-state-name', Values: [...LiveStates] },
      ],
    ],
    rt,
  );
  // Snapshots whose AMI is gone (a failed DeleteSnapshot, a cancelled run, a failed AMI without
  // mappings) are found by their own tags; whether another image still uses them is asked below.
  const mapped = new Set(images.flatMap((image) => image.snapshotIds));
  const snapshots = (await describeOurSnapshots(rt)).filter(
    (snapshot) => !mapped.has(snapshot.id) && inScope(snapshot.tags, scope),
  );
  const snapshotIds = [
    ...new Set([...candidates.flatMap((image) => image.snapshotIds), ...snapshots.map((s) => s.id)]),
  ];
  const snapshotUsers = await describeSnapshotUsers(snapshotIds, rt);
  const sharing = await describeSharing(
    candidates.filter((image) => image.state !== 'deregistered'),
    rt,
  );
  const volumes = await describeOurAvailableVolumes(rt);
  return {
    selectedGroups: selectedNames,
    scopedTemplateIds,
    selectedImages,
    templates,
    versions,
    references,
    images,
    instances,
    temporaryInstances,
    snapshotUsers,
    snapshots,
    launchConfigurations,
    sharing,
    volumes,
  };
}

/**
 * Every group of the account, every launch template, and every use of a template by a group, one of
 * its instances or an instance in its warm pool: what decides whether a version is in use. Read for
 * the inventory, and again right before versions are deleted.
 */
export async function readReferences(rt: Clients): Promise<{
  allGroups: AutoScalingGroup[];
  templates: TemplateInfo[];
  references: GroupReference[];
}> {
  const allGroups = await describeAllGroups(rt);
  const templates = await describeTemplates(rt);
  const byName = new Map(templates.map((t) => [t.name, t.id]));
  const warm = await describeWarmPoolInstances(allGroups, rt);
  const references = [
    ...allGroups.flatMap((group) => groupReferences(group, byName)),
    ...warm.flatMap((instance) => warmPoolReference(instance, byName)),
  ];
  return { allGroups, templates, references };
}

function warmPoolReference(
  instance: WarmPoolInstance,
  byName: ReadonlyMap<string, string>,
): GroupReference[] {
  const templateId = instance.launchTemplateId ?? byName.get(instance.launchTemplateName ?? '');
  if (!templateId) return [];
  return [
    {
      group: instance.group,
      templateId,
      version: instance.version ?? '$Default',
      via: `warm pool instance ${instance.instanceId}`,
    },
  ];
}

/** The images that references resolve to through their template's versions. */
function resolveImages(
  references: readonly GroupReference[],
  templates: readonly TemplateInfo[],
  versions: readonly VersionInfo[],
): string[] {
  const byId = new Map(templates.map((t) => [t.id, t]));
  const imageOf = new Map(versions.map((v) => [`${v.templateId}:${v.version}`, v.imageId]));
  const images = new Set<string>();
  for (const ref of references) {
    const template = byId.get(ref.templateId);
    const number = template ? resolveVersionNumber(ref.version, template) : undefined;
    const imageId = number === undefined ? undefined : imageOf.get(`${ref.templateId}:${number}`);
    if (imageId) images.add(imageId);
  }
  return [...images].sort();
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
