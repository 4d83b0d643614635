/**
 * The cleanup decision, as a pure function of the inventory: what goes, what stays and why. Keeping
 * it free of AWS and of the clock makes every safety rule a table test.
 */
import { resolveVersionNumber } from '../aws/launch-templates.js';
import { isOurVersionDescription, Tags, versionRunId } from '../aws/tags.js';
import { tooYoung } from './age.js';
import { planOrphans, planOrphanSnapshots, planVolumes } from './leftovers.js';
import type {
  CleanupPlan,
  ImageDeregistration,
  PolicyOptions,
  SnapshotDeletion,
  VersionDeletion,
} from './plan-types.js';
import { inScope, selectionScope, tagList, type Scope } from './scope.js';
import { isInstanceUse, type GroupReference, type Inventory } from './types.js';
import type { ImageInfo, TemplateInfo, VersionInfo } from '../aws/resources.js';
import type { KeptItem } from '../report/records.js';

export type {
  CleanupPlan,
  ImageDeregistration,
  InstanceTermination,
  PolicyOptions,
  SnapshotDeletion,
  VersionDeletion,
  VolumeDeletion,
} from './plan-types.js';

/** How many users of a resource a reason names before it summarises the rest. */
const ReasonsShown = 3;

/** `lt-0abc:7`, the id of a version everywhere in the report. */
export function versionId(templateId: string, version: number): string {
  return `${templateId}:${version}`;
}

/**
 * Decides everything cleanup does. Never deletes: a version we did not create, a template's default
 * or latest version, a version any group (or a group's instance) uses, the newest `keep` of our
 * versions per template; an AMI that is not ours or out of scope, protected, not yet available, made
 * by this run, used by a remaining version of any template, by a group or by a non-terminated
 * instance or launch configuration, or among the newest `keep` of our AMIs per template; a snapshot
 * another remaining image uses, or one whose AMI is gone but that is not yet `orphanAgeMinutes` old.
 */
export function planCleanup(inventory: Inventory, options: PolicyOptions): CleanupPlan {
  const keep = Math.max(1, Math.floor(options.keep));
  const templates = new Map(inventory.templates.map((t) => [t.id, t]));
  const versions = new Map(inventory.versions.map((v) => [versionId(v.templateId, v.version), v]));
  const referenced = resolveReferences(inventory.references, templates);
  const scope = selectionScope(inventory);

  const versionPlan = planVersions({ inventory, templates, referenced, keep, options });
  const deletedVersions = new Set(versionPlan.deletions.map((d) => d.id));
  const imagePlan = planImages({
    inventory,
    scope,
    versions,
    referenced,
    deletedVersions,
    keep,
    options,
  });
  const snapshots = planSnapshots(inventory, imagePlan.deregistrations);
  const instances = planOrphans({ inventory, scope, options });
  return {
    versions: versionPlan.deletions,
    images: imagePlan.deregistrations,
    snapshots: [...snapshots, ...planOrphanSnapshots({ inventory, scope, options })],
    instances,
    volumes: planVolumes({ inventory, scope, options }),
    kept: [...versionPlan.kept, ...imagePlan.kept],
  };
}

/** One group's use of a version: `how` is e.g. `LaunchTemplate, $Latest` or `instance i-…`. */
interface Use {
  group: string;
  how: string;
  /** The use is by one of the group's instances (launched from this version), not the group's own setting. */
  instance: boolean;
}

/** `used by group web (LaunchTemplate, $Latest → lt-a:7)` or `used by instance i-1 of group web`. */
function useText(use: Use, version?: string): string {
  if (use.instance) return `used by ${use.how} of group ${use.group}${version ? ` (${version})` : ''}`;
  return `used by group ${use.group} (${use.how}${version ? ` → ${version}` : ''})`;
}

/** Version id → how groups use it, with `$Latest`/`$Default` resolved against the template. */
function resolveReferences(
  references: readonly GroupReference[],
  templates: ReadonlyMap<string, TemplateInfo>,
): Map<string, Use[]> {
  const used = new Map<string, Use[]>();
  for (const ref of references) {
    const template = templates.get(ref.templateId);
    if (!template) continue;
    const number = resolveVersionNumber(ref.version, template);
    if (number === undefined) continue;
    const how = /^\d+$/.test(ref.version) ? ref.via : `${ref.via}, ${ref.version}`;
    push(used, versionId(template.id, number), {
      group: ref.group,
      how,
      instance: isInstanceUse(ref),
    });
  }
  return used;
}

function planVersions(input: {
  inventory: Inventory;
  templates: ReadonlyMap<string, TemplateInfo>;
  referenced: ReadonlyMap<string, Use[]>;
  keep: number;
  options: PolicyOptions;
}): { deletions: VersionDeletion[]; kept: KeptItem[] } {
  const deletions: VersionDeletion[] = [];
  const kept: KeptItem[] = [];
  const scoped = new Set(input.inventory.scopedTemplateIds);
  const ours = input.inventory.versions
    .filter((v) => scoped.has(v.templateId) && isOurVersionDescription(v.description))
    .sort((a, b) => a.templateId.localeCompare(b.templateId) || b.version - a.version);
  const rank = new Map<string, number>();
  for (const version of ours) {
    const id = versionId(version.templateId, version.version);
    const template = input.templates.get(version.templateId);
    // Without the template's default and latest numbers nothing about it is safe to delete.
    if (!template) continue;
    const place = rank.get(version.templateId) ?? 0;
    rank.set(version.templateId, place + 1);
    const reasons: string[] = [];
    if (version.version === template.defaultVersion) reasons.push('default version');
    if (version.version === template.latestVersion) reasons.push('latest version');
    reasons.push(...(input.referenced.get(id) ?? []).map((use) => useText(use)));
    if (place < input.keep) reasons.push(`one of the newest ${input.keep} versions we made`);
    const young = tooYoung(version.createdAt, input.options.now);
    if (young && versionRunId(version.description) !== input.options.runId) reasons.push(young);
    if (reasons.length > 0) {
      kept.push({ kind: 'launch-template-version', id, reason: summarise(reasons) });
    } else {
      deletions.push({
        id,
        templateId: version.templateId,
        version: version.version,
        imageId: version.imageId,
        reason: `older than the newest ${input.keep} versions we made; not default, latest or used by any group`,
      });
    }
  }
  return { deletions, kept };
}

function planImages(input: {
  inventory: Inventory;
  scope: Scope;
  versions: ReadonlyMap<string, VersionInfo>;
  referenced: ReadonlyMap<string, Use[]>;
  deletedVersions: ReadonlySet<string>;
  keep: number;
  options: PolicyOptions;
}): { deregistrations: ImageDeregistration[]; kept: KeptItem[] } {
  const { inventory } = input;
  const users = new Map<string, string[]>();
  const requires = new Map<string, string[]>();
  // Groups first: the most telling reason ("used by group shop-web") leads the list.
  for (const [id, uses] of input.referenced) {
    const imageId = input.versions.get(id)?.imageId;
    if (!imageId) continue;
    for (const use of uses) push(users, imageId, useText(use, id));
  }
  for (const config of inventory.launchConfigurations) {
    if (!config.imageId) continue;
    for (const group of config.groups) {
      push(users, config.imageId, `used by group ${group} (launch configuration ${config.name})`);
    }
  }
  for (const [id, version] of input.versions) {
    if (!version.imageId) continue;
    if (input.deletedVersions.has(id)) push(requires, version.imageId, id);
    else push(users, version.imageId, `used by launch template version ${id}`);
  }
  for (const instance of inventory.instances) {
    if (instance.imageId && instance.state !== 'terminated') {
      push(users, instance.imageId, `used by instance ${instance.id} (${instance.state})`);
    }
  }

  const newest = newestImages(inventory.images, input.keep);
  const deregistrations: ImageDeregistration[] = [];
  const kept: KeptItem[] = [];
  // A deregistered image stays listed for a while (AWS documents it): nothing left to deregister.
  const candidates = inventory.images
    .filter((image) => image.state !== 'deregistered' && inScope(image.tags, input.scope, image.id))
    .sort((a, b) => a.id.localeCompare(b.id));
  for (const image of candidates) {
    const reasons: string[] = [];
    if (isProtected(image)) reasons.push('deregistration protection is on');
    if (image.state === 'pending') reasons.push('not available yet (pending)');
    if (image.tags[Tags.RunId] === input.options.runId) reasons.push('made by this run');
    else reasons.push(...[tooYoung(image.createdAt, input.options.now) ?? []].flat());
    const sharedWith = inventory.sharing[image.id] ?? [];
    if (sharedWith.length > 0)
      reasons.push(`shared with ${sharedWith.join(', ')}, who may launch it where we cannot see`);
    reasons.push(...(users.get(image.id) ?? []));
    const newestFor = newest.get(image.id);
    if (newestFor) reasons.push(`one of the newest ${input.keep} AMIs for ${newestFor.join(', ')}`);
    if (reasons.length > 0) {
      kept.push({ kind: 'ami', id: image.id, reason: summarise(reasons) });
      continue;
    }
    const owners = rankingKeys(image).join(', ');
    deregistrations.push({
      id: image.id,
      reason: `older than the newest ${input.keep} AMIs for ${owners}; not used by any group, launch template version or instance`,
      requires: requires.get(image.id) ?? [],
    });
  }
  return { deregistrations, kept };
}

/** Image id → the templates (or groups) for which it is among our newest `keep` AMIs. */
function newestImages(images: readonly ImageInfo[], keep: number): Map<string, string[]> {
  const byKey = new Map<string, ImageInfo[]>();
  // A failed or deregistered image can never launch anything, so it takes no place kept for rollback.
  for (const image of images) {
    if (image.state === 'failed' || image.state === 'deregistered') continue;
    for (const key of rankingKeys(image)) push(byKey, key, image);
  }
  const newest = new Map<string, string[]>();
  for (const [key, list] of byKey) {
    list.sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
    for (const image of list.slice(0, keep)) push(newest, image.id, key);
  }
  return newest;
}

/** Our AMIs are ranked per launch template they were made for; untagged ones per group instead. */
function rankingKeys(image: ImageInfo): string[] {
  const templates = tagList(image.tags[Tags.LaunchTemplates]);
  if (templates.length > 0) return templates;
  return tagList(image.tags[Tags.Groups]).map((group) => `group ${group}`);
}

/** 'disabled' is the only value under which DeregisterImage succeeds (`disabled-until-…` still protects). */
function isProtected(image: ImageInfo): boolean {
  const value = image.deregistrationProtection.trim();
  return value !== '' && value !== 'disabled';
}

function planSnapshots(
  inventory: Inventory,
  deregistrations: readonly ImageDeregistration[],
): SnapshotDeletion[] {
  const going = new Set(deregistrations.map((d) => d.id));
  const images = new Map(inventory.images.map((image) => [image.id, image]));
  const deletions = new Map<string, SnapshotDeletion>();
  for (const deregistration of deregistrations) {
    for (const snapshotId of images.get(deregistration.id)?.snapshotIds ?? []) {
      if (deletions.has(snapshotId)) continue;
      const users = new Set([...(inventory.snapshotUsers[snapshotId] ?? []), deregistration.id]);
      // A snapshot another remaining image is built on must outlive this image.
      if (![...users].every((user) => going.has(user))) continue;
      const requires = [...users].sort();
      deletions.set(snapshotId, {
        id: snapshotId,
        reason: `snapshot of ${requires.join(', ')}, deregistered`,
        requires,
      });
    }
  }
  return [...deletions.values()];
}

function summarise(reasons: readonly string[]): string {
  const unique = [...new Set(reasons)];
  if (unique.length <= ReasonsShown + 1) return unique.join('; ');
  return `${unique.slice(0, ReasonsShown).join('; ')}; and ${unique.length - ReasonsShown} more`;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
