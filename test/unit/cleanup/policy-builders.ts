/** What the planCleanup tests build their inventories from: a fixed clock, options and builders. */
import { Roles, Tags } from '../../../src/aws/tags.js';
import type { CleanupPlan, PolicyOptions } from '../../../src/cleanup/policy.js';
import type { GroupReference, Inventory } from '../../../src/cleanup/types.js';
import type { ImageInfo, TemplateInfo, VersionInfo } from '../../../src/aws/resources.js';

export const NOW = Date.parse('2026-06-01T12:00:00Z');
export const minutesAgo = (m: number): number => NOW - m * 60_000;
/** Older than the minimum age: what most cases use, so that age decides nothing unless meant to. */
export const DayMinutes = 24 * 60;
export const OPTIONS: PolicyOptions = { keep: 2, orphanAgeMinutes: 360, runId: 'run-now', now: NOW };

export function template(id: string, defaultVersion: number, latestVersion: number): TemplateInfo {
  return { id, name: `${id}-name`, defaultVersion, latestVersion };
}

/** Versions from..to of a template; ours unless listed in `foreign`. */
export function versions(
  templateId: string,
  range: [number, number],
  image: (n: number) => string | undefined,
  foreign: number[] = [],
): VersionInfo[] {
  const list: VersionInfo[] = [];
  for (let n = range[0]; n <= range[1]; n++) {
    list.push({
      templateId,
      version: n,
      imageId: image(n),
      description: foreign.includes(n) ? 'made by hand' : `asg-rolling run r${n} commit abc1234`,
      createdAt: minutesAgo(DayMinutes),
    });
  }
  return list;
}

export function ref(
  group: string,
  templateId: string,
  version: string,
  via = 'LaunchTemplate',
): GroupReference {
  return { group, templateId, version, via };
}

export function ami(
  id: string,
  minutesOld: number,
  tags: Record<string, string>,
  extra: Partial<ImageInfo> = {},
): ImageInfo {
  return {
    id,
    state: 'available',
    createdAt: minutesAgo(minutesOld),
    tags: { [Tags.Managed]: 'true', [Tags.Role]: Roles.Ami, [Tags.RunId]: 'run-old', ...tags },
    snapshotIds: [`snap-${id.slice(4)}`],
    deregistrationProtection: 'disabled',
    public: false,
    ...extra,
  };
}

export function inventory(partial: Partial<Inventory>): Inventory {
  return {
    selectedGroups: ['web'],
    scopedTemplateIds: ['lt-a'],
    selectedImages: [],
    templates: [],
    versions: [],
    references: [],
    images: [],
    instances: [],
    temporaryInstances: [],
    snapshotUsers: {},
    snapshots: [],
    launchConfigurations: [],
    sharing: {},
    volumes: [],
    ...partial,
  };
}

export const ids = (items: readonly { id: string }[]): string[] => items.map((i) => i.id).sort();
export const keptReason = (plan: CleanupPlan, id: string): string | undefined =>
  plan.kept.find((k) => k.id === id)?.reason;
