/**
 * Reads again, right before each destructive step, what uses the items about to go. The inventory
 * is minutes old by then on a large account, and other runs and people keep working: a group
 * created on a version being deleted, a template version pointed at an old AMI, an image built on
 * a snapshot. Whatever is newly used is dropped from the step and reported as kept.
 */
import { chunk, FilterValuesPerCall, LiveStates } from '../aws/batch.js';
import type { Runtime } from '../aws/clients.js';
import {
  describeInstanceInfos,
  describeLaunchConfigurations,
  describeSnapshotUsers,
  describeVersions,
} from '../aws/describe-all.js';
import { resolveVersionNumber } from '../aws/launch-templates.js';
import type { TemplateInfo } from '../aws/resources.js';
import { readReferences } from './inventory.js';
import { isInstanceUse, type GroupReference } from './types.js';

/** Item id → why it is in use now. */
export type InUse = Map<string, string>;

/** The reads apply runs before each step; apply.test.ts hands in fakes. */
export interface Recheck {
  /** Versions (`lt-…:7`) any group, group instance or warm-pool instance uses, or that are default or latest. */
  versionsInUse(): Promise<InUse>;
  /**
   * Which of `imageIds` a group, a version of any template, a launch configuration or a live
   * instance uses. `versionImages` names the image of each version being deleted: a group that
   * turned to such a version (gone by now, or not) still needs its image.
   */
  imagesInUse(imageIds: readonly string[], versionImages: ReadonlyMap<string, string>): Promise<InUse>;
  /** Which of `snapshotIds` an image of this account other than `deregistered` is built on. */
  snapshotsInUse(snapshotIds: readonly string[], deregistered: ReadonlySet<string>): Promise<InUse>;
}

type Clients = Pick<Runtime, 'ec2' | 'autoScaling' | 'log'>;

/** The real reads, through the same describes as the inventory. */
export function recheckWith(rt: Clients): Recheck {
  return {
    async versionsInUse() {
      const { templates, references } = await readReferences(rt);
      const inUse: InUse = new Map();
      for (const template of templates) {
        note(inUse, `${template.id}:${template.defaultVersion}`, 'now the default version');
        note(inUse, `${template.id}:${template.latestVersion}`, 'now the latest version');
      }
      for (const [id, ref] of resolve(references, templates)) note(inUse, id, useText(ref));
      return inUse;
    },

    async imagesInUse(imageIds, versionImages) {
      const wanted = new Set(imageIds);
      const inUse: InUse = new Map();
      if (wanted.size === 0) return inUse;
      const { allGroups, templates, references } = await readReferences(rt);
      const versions = await describeVersions(templates, rt);
      const imageOf = new Map(versionImages);
      for (const v of versions) {
        const id = `${v.templateId}:${v.version}`;
        if (!v.imageId) continue;
        imageOf.set(id, v.imageId);
        if (wanted.has(v.imageId) && !versionImages.has(id))
          note(inUse, v.imageId, `used by launch template version ${id}`);
      }
      for (const [id, ref] of resolve(references, templates)) {
        const image = imageOf.get(id);
        if (image && wanted.has(image)) note(inUse, image, `${useText(ref)} through ${id}`);
      }
      for (const config of await describeLaunchConfigurations(allGroups, rt)) {
        if (config.imageId && wanted.has(config.imageId))
          note(inUse, config.imageId, `used by launch configuration ${config.name}`);
      }
      const instances = await describeInstanceInfos(
        chunk([...wanted], FilterValuesPerCall).map((ids) => [
          { Name: 'image-id', Values: ids },
          { Name: 'instance-state-name', Values: [...LiveStates] },
        ]),
        rt,
      );
      for (const instance of instances) {
        if (instance.imageId)
          note(inUse, instance.imageId, `used by instance ${instance.id} (${instance.state})`);
      }
      return inUse;
    },

    async snapshotsInUse(snapshotIds, deregistered) {
      const inUse: InUse = new Map();
      const users = await describeSnapshotUsers(snapshotIds, rt);
      for (const [snapshotId, images] of Object.entries(users)) {
        const left = images.filter((image) => !deregistered.has(image));
        if (left.length > 0) note(inUse, snapshotId, `used by ${left.join(', ')}`);
      }
      return inUse;
    },
  };
}

function resolve(
  references: readonly GroupReference[],
  templates: readonly TemplateInfo[],
): [string, GroupReference][] {
  const byId = new Map(templates.map((t) => [t.id, t]));
  return references.flatMap((ref): [string, GroupReference][] => {
    const template = byId.get(ref.templateId);
    const number = template ? resolveVersionNumber(ref.version, template) : undefined;
    return number === undefined ? [] : [[`${ref.templateId}:${number}`, ref]];
  });
}

function useText(ref: GroupReference): string {
  return isInstanceUse(ref)
    ? `used by ${ref.via} of group ${ref.group}`
    : `used by group ${ref.group} (${ref.via})`;
}

function note(inUse: InUse, id: string, why: string): void {
  const before = inUse.get(id);
  if (before === undefined) inUse.set(id, why);
  else if (!before.split('; ').includes(why)) inUse.set(id, `${before}; ${why}`);
}
