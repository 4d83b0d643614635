import { describe, expect, it } from 'vitest';
import { Roles, Tags } from '../../../src/aws/tags.js';
import { planCleanup, type CleanupPlan, type PolicyOptions } from '../../../src/cleanup/policy.js';
import { isTruncated, tagList } from '../../../src/cleanup/scope.js';
import type { GroupReference, Inventory } from '../../../src/cleanup/types.js';
import type {
  ImageInfo,
  InstanceInfo,
  SnapshotInfo,
  TemplateInfo,
  VersionInfo,
} from '../../../src/aws/resources.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const minutesAgo = (m: number): number => NOW - m * 60_000;
const OPTIONS: PolicyOptions = { keep: 2, orphanAgeMinutes: 360, runId: 'run-now', now: NOW };

function template(id: string, defaultVersion: number, latestVersion: number): TemplateInfo {
  return { id, name: `${id}-name`, defaultVersion, latestVersion };
}

/** Versions from..to of a template; ours unless listed in `foreign`. */
function versions(
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
    });
  }
  return list;
}

function ref(group: string, templateId: string, version: string, via = 'LaunchTemplate'): GroupReference {
  return { group, templateId, version, via };
}

function ami(
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
    ...extra,
  };
}

function inventory(partial: Partial<Inventory>): Inventory {
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
    ...partial,
  };
}

const ids = (items: readonly { id: string }[]): string[] => items.map((i) => i.id).sort();
const keptReason = (plan: CleanupPlan, id: string): string | undefined =>
  plan.kept.find((k) => k.id === id)?.reason;

describe('planCleanup: launch template versions', () => {
  const base = {
    templates: [template('lt-a', 1, 10), template('lt-other', 1, 5)],
    versions: [
      ...versions('lt-a', [1, 10], () => undefined, [1, 6]),
      ...versions('lt-other', [1, 5], () => undefined),
    ],
  };

  it.each<{ name: string; refs: GroupReference[]; keep: number; deleted: number[] }>([
    { name: 'only default, latest and newest kept', refs: [], keep: 2, deleted: [2, 3, 4, 5, 7, 8] },
    {
      name: 'a group pinned to a number',
      refs: [ref('web', 'lt-a', '4')],
      keep: 2,
      deleted: [2, 3, 5, 7, 8],
    },
    {
      name: 'a group outside the selection',
      refs: [ref('api', 'lt-a', '3')],
      keep: 2,
      deleted: [2, 4, 5, 7, 8],
    },
    {
      name: 'a mixed-instances override',
      refs: [ref('web', 'lt-a', '5', 'MixedInstancesPolicy override m5.large')],
      keep: 2,
      deleted: [2, 3, 4, 7, 8],
    },
    {
      name: 'an instance of a group',
      refs: [ref('web', 'lt-a', '2', 'instance i-1')],
      keep: 2,
      deleted: [3, 4, 5, 7, 8],
    },
    { name: 'keep 0 still keeps one', refs: [], keep: 0, deleted: [2, 3, 4, 5, 7, 8, 9] },
    { name: 'keep larger than the history', refs: [], keep: 50, deleted: [] },
  ])('$name', ({ refs, keep, deleted }) => {
    const plan = planCleanup(inventory({ ...base, references: refs }), { ...OPTIONS, keep });
    expect(plan.versions.map((v) => v.version).sort((a, b) => a - b)).toEqual(deleted);
    // Versions made by hand and versions of templates out of scope are never touched.
    expect(plan.versions.every((v) => v.templateId === 'lt-a' && v.version !== 1 && v.version !== 6)).toBe(
      true,
    );
  });

  it('keeps the default and latest versions with their reasons, and what groups use via $Latest/$Default', () => {
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', 4, 10)],
        versions: versions('lt-a', [1, 10], () => undefined),
        references: [ref('web', 'lt-a', '$Default'), ref('api', 'lt-a', '$Latest', 'MixedInstancesPolicy')],
      }),
      OPTIONS,
    );
    expect(keptReason(plan, 'lt-a:4')).toBe('default version; used by group web (LaunchTemplate, $Default)');
    expect(keptReason(plan, 'lt-a:10')).toBe(
      'latest version; used by group api (MixedInstancesPolicy, $Latest); one of the newest 2 versions we made',
    );
    expect(keptReason(plan, 'lt-a:9')).toBe('one of the newest 2 versions we made');
    expect(plan.versions.find((v) => v.id === 'lt-a:3')?.reason).toMatch(/older than the newest 2/);
  });

  it('knows our versions by the exact description the pipeline writes, not by a prefix', () => {
    const described = (description: string, version: number): VersionInfo => ({
      templateId: 'lt-a',
      version,
      imageId: undefined,
      description,
    });
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', 1, 9)],
        versions: [
          described('asg-rolling run 41-1 commit abc1234', 2),
          described('asg-rolling-manual', 3),
          described('asg-rolling manual fix', 4),
          described('asg-rolling run 41-2', 5),
          described('asg-rolling run 42-1 commit local', 6),
          ...versions('lt-a', [7, 9], () => undefined),
        ],
      }),
      OPTIONS,
    );
    // 7 is ours too; 8 and 9 are the newest two.
    expect(ids(plan.versions)).toEqual(['lt-a:2', 'lt-a:6', 'lt-a:7']);
  });

  it('touches nothing of a template it cannot describe', () => {
    const plan = planCleanup(inventory({ versions: versions('lt-a', [1, 10], () => undefined) }), OPTIONS);
    expect(plan.versions).toEqual([]);
  });
});

describe('planCleanup: AMIs', () => {
  const inScope = { [Tags.LaunchTemplates]: 'lt-a' };

  it('deregisters an old AMI only its deleted versions used, and names those versions', () => {
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', 1, 6)],
        versions: versions('lt-a', [1, 6], (n) => (n <= 3 ? 'ami-old' : 'ami-new'), [1]),
        images: [ami('ami-old', 300, inScope), ami('ami-new', 10, inScope)],
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(ids(plan.versions)).toEqual(['lt-a:2', 'lt-a:3', 'lt-a:4', 'lt-a:5']);
    // Version 1 (not ours) still uses ami-old: it stays.
    expect(plan.images).toEqual([]);
    expect(keptReason(plan, 'ami-old')).toBe('used by launch template version lt-a:1');
  });

  it('deregisters once no remaining version uses it, depending on the version deletions', () => {
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', 6, 6)],
        versions: versions('lt-a', [1, 6], (n) => (n <= 3 ? 'ami-old' : 'ami-new')),
        images: [ami('ami-old', 300, inScope), ami('ami-new', 10, inScope)],
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(plan.images).toEqual([
      {
        id: 'ami-old',
        reason: expect.stringMatching(/older than the newest 1 AMIs for lt-a; not used/),
        requires: ['lt-a:1', 'lt-a:2', 'lt-a:3'],
      },
    ]);
    expect(plan.snapshots).toEqual([
      { id: 'snap-old', reason: 'snapshot of ami-old, deregistered', requires: ['ami-old'] },
    ]);
  });

  it('keeps an AMI shared with another template whose kept version still uses it', () => {
    const shared = { [Tags.LaunchTemplates]: 'lt-a,lt-b' };
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', 5, 5), template('lt-b', 3, 3)],
        versions: [
          ...versions('lt-a', [1, 5], (n) => (n === 1 ? 'ami-shared' : `ami-a${n}`)),
          ...versions('lt-b', [1, 3], (n) => (n === 3 ? 'ami-shared' : `ami-b${n}`)),
        ],
        images: [
          ami('ami-shared', 500, shared),
          ...[2, 3, 4, 5].map((n) => ami(`ami-a${n}`, 100 - n, inScope)),
        ],
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(ids(plan.versions)).toEqual(['lt-a:1', 'lt-a:2', 'lt-a:3', 'lt-a:4']);
    expect(keptReason(plan, 'ami-shared')).toMatch(
      /^used by launch template version lt-b:3; one of the newest 1 AMIs for lt-b$/,
    );
    expect(ids(plan.images)).toEqual(['ami-a2', 'ami-a3', 'ami-a4']);
  });

  it.each<{
    name: string;
    image: ImageInfo;
    instances?: InstanceInfo[];
    refs?: GroupReference[];
    configs?: Inventory['launchConfigurations'];
    reason: RegExp;
  }>([
    {
      name: 'deregistration protection',
      image: ami('ami-x', 500, inScope, { deregistrationProtection: 'enabled' }),
      reason: /^deregistration protection is on$/,
    },
    {
      name: 'protection in its cooldown',
      image: ami('ami-x', 500, inScope, { deregistrationProtection: 'disabled-until-2026-06-02T00:00:00Z' }),
      reason: /^deregistration protection is on$/,
    },
    { name: 'a pending AMI', image: ami('ami-x', 500, inScope, { state: 'pending' }), reason: /pending/ },
    {
      name: 'an AMI of this run',
      image: ami('ami-x', 500, { ...inScope, [Tags.RunId]: 'run-now' }),
      reason: /this run/,
    },
    {
      name: 'an instance in any live state',
      image: ami('ami-x', 500, inScope),
      instances: [{ id: 'i-1', imageId: 'ami-x', state: 'stopped', launchedAt: 0, tags: {} }],
      reason: /^used by instance i-1 \(stopped\)$/,
    },
    {
      name: 'a group through its resolved version',
      image: ami('ami-x', 500, inScope),
      refs: [ref('api', 'lt-a', '$Default')],
      reason:
        /^used by group api \(LaunchTemplate, \$Default → lt-a:2\); used by launch template version lt-a:2$/,
    },
    {
      name: 'a launch configuration of any group',
      image: ami('ami-x', 500, inScope),
      configs: [
        { name: 'legacy-lc', imageId: 'ami-x', groups: ['legacy', 'batch'] },
        { name: 'other-lc', imageId: undefined, groups: ['x'] },
      ],
      reason:
        /^used by group legacy \(launch configuration legacy-lc\); used by group batch \(launch configuration legacy-lc\)$/,
    },
  ])('keeps $name', ({ image, instances, refs, configs, reason }) => {
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', refs ? 2 : 9, 9)],
        versions: versions('lt-a', [1, 9], (n) => (n === 2 ? 'ami-x' : 'ami-new')),
        references: refs ?? [],
        images: [image, ami('ami-new', 5, inScope)],
        instances: instances ?? [],
        launchConfigurations: configs ?? [],
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(plan.images).toEqual([]);
    expect(keptReason(plan, 'ami-x')).toMatch(reason);
  });

  it('keeps the newest AMIs per template by creation date; failed AMIs take no place', () => {
    const images = [
      ami('ami-1', 400, inScope),
      ami('ami-2', 300, inScope),
      ami('ami-3', 200, inScope),
      ami('ami-4', 100, inScope, { state: 'failed' }),
    ];
    const plan = planCleanup(inventory({ templates: [template('lt-a', 1, 1)], images }), OPTIONS);
    expect(ids(plan.images)).toEqual(['ami-1', 'ami-4']);
    expect(keptReason(plan, 'ami-3')).toBe('one of the newest 2 AMIs for lt-a');
  });

  it('ranks AMIs without a template tag per group, and scopes them by the Groups tag', () => {
    const byGroup = { [Tags.Groups]: 'web' };
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', 1, 1)],
        images: [ami('ami-1', 300, byGroup), ami('ami-2', 200, byGroup), ami('ami-3', 100, byGroup)],
      }),
      OPTIONS,
    );
    expect(ids(plan.images)).toEqual(['ami-1']);
    expect(keptReason(plan, 'ami-3')).toBe('one of the newest 2 AMIs for group web');
  });

  it('never touches our AMIs of other templates and groups', () => {
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', 1, 1)],
        images: [1, 2, 3, 4].map((n) =>
          ami(`ami-${n}`, 100 * n, { [Tags.LaunchTemplates]: 'lt-z', [Tags.Groups]: 'api' }),
        ),
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(plan.images).toEqual([]);
    expect(plan.kept).toEqual([]);
  });
});

describe('planCleanup: snapshots', () => {
  const tags = { [Tags.LaunchTemplates]: 'lt-a' };
  const images = [
    ami('ami-1', 500, tags, { snapshotIds: ['snap-own', 'snap-shared-kept', 'snap-shared-going'] }),
    ami('ami-2', 400, tags, { snapshotIds: ['snap-shared-going'] }),
    ami('ami-3', 20, tags, { snapshotIds: ['snap-3'] }),
  ];

  it('deletes a snapshot only when every image using it goes', () => {
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', 1, 1)],
        images,
        snapshotUsers: {
          'snap-own': ['ami-1'],
          'snap-shared-kept': ['ami-1', 'ami-users-own'],
          'snap-shared-going': ['ami-1', 'ami-2'],
        },
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(ids(plan.images)).toEqual(['ami-1', 'ami-2']);
    expect(plan.snapshots).toEqual([
      { id: 'snap-own', reason: 'snapshot of ami-1, deregistered', requires: ['ami-1'] },
      {
        id: 'snap-shared-going',
        reason: 'snapshot of ami-1, ami-2, deregistered',
        requires: ['ami-1', 'ami-2'],
      },
    ]);
  });
});

describe('planCleanup: snapshots whose AMI is gone', () => {
  const snapshot = (id: string, extra: Partial<SnapshotInfo> & { tags?: Record<string, string> } = {}) => ({
    id,
    state: 'completed',
    startedAt: minutesAgo(1000),
    description: 'Created by CreateImage(i-0abc) for ami-0dead01 from vol-1',
    ...extra,
    tags: {
      [Tags.Managed]: 'true',
      [Tags.Role]: Roles.Ami,
      [Tags.RunId]: 'run-old',
      [Tags.LaunchTemplates]: 'lt-a',
      ...extra.tags,
    },
  });

  it.each<{ name: string; snap: SnapshotInfo; deleted: boolean }>([
    { name: 'old, unused, of another run', snap: snapshot('snap-1'), deleted: true },
    { name: 'still pending', snap: snapshot('snap-1', { state: 'pending' }), deleted: false },
    { name: 'of this run', snap: snapshot('snap-1', { tags: { [Tags.RunId]: 'run-now' } }), deleted: false },
    {
      name: 'younger than orphan-age',
      snap: snapshot('snap-1', { startedAt: minutesAgo(300) }),
      deleted: false,
    },
    { name: 'of unknown age', snap: snapshot('snap-1', { startedAt: 0 }), deleted: false },
    {
      name: 'of another template',
      snap: snapshot('snap-1', { tags: { [Tags.LaunchTemplates]: 'lt-z' } }),
      deleted: false,
    },
    {
      name: 'not made by CreateImage',
      snap: snapshot('snap-1', { tags: { [Tags.Role]: 'x' } }),
      deleted: false,
    },
    { name: 'used by a user image', snap: snapshot('snap-used'), deleted: false },
    { name: 'behind one of our AMIs', snap: snapshot('snap-mapped'), deleted: false },
  ])('$name → deleted: $deleted', ({ snap, deleted }) => {
    const plan = planCleanup(
      inventory({
        snapshots: [snap],
        snapshotUsers: { 'snap-used': ['ami-users'] },
        images: [ami('ami-mapped', 5, { [Tags.LaunchTemplates]: 'lt-a' }, { snapshotIds: ['snap-mapped'] })],
      }),
      OPTIONS,
    );
    expect(plan.snapshots).toEqual(
      deleted ? [{ id: 'snap-1', reason: 'its AMI ami-0dead01 is gone', requires: [] }] : [],
    );
  });

  it('says only that the AMI is gone when the description names none', () => {
    const plan = planCleanup(inventory({ snapshots: [snapshot('snap-1', { description: '' })] }), OPTIONS);
    expect(plan.snapshots.map((s) => s.reason)).toEqual(['its AMI is gone']);
  });
});

describe('planCleanup: tag lists cut at 256 characters', () => {
  it('reads the cut marker as no name, and knows the list is incomplete', () => {
    expect(tagList('lt-1,lt-2,...')).toEqual(['lt-1', 'lt-2']);
    expect(isTruncated('lt-1,lt-2,...')).toBe(true);
    expect(isTruncated('lt-1,lt-2')).toBe(false);
    expect(isTruncated(undefined)).toBe(false);
  });

  it("scopes a cut list by the selected groups' image line: back through our AMIs, and their next bakes", () => {
    const cut = (source: string) => ({
      [Tags.LaunchTemplates]: 'lt-x1,lt-x2,...',
      [Tags.Groups]: 'g1,g2,...',
      [Tags.SourceImage]: source,
    });
    const images = [
      ami('ami-1', 500, cut('ami-base')),
      ami('ami-2', 400, cut('ami-1')),
      ami('ami-3', 300, cut('ami-2')),
      // A newer bake for the same groups, not rolled out.
      ami('ami-4', 200, cut('ami-3')),
      // Another app's cut AMIs from the same public base image, and an uncut one off our line.
      ami('ami-5', 450, cut('ami-base')),
      ami('ami-6', 350, cut('ami-5')),
      ami('ami-7', 450, { [Tags.LaunchTemplates]: 'lt-z', [Tags.SourceImage]: 'ami-2' }),
    ];
    const plan = planCleanup(
      inventory({
        selectedImages: ['ami-3'],
        templates: [template('lt-a', 1, 1)],
        versions: [{ templateId: 'lt-a', version: 1, imageId: 'ami-3', description: 'by hand' }],
        references: [ref('web', 'lt-a', '$Default')],
        images,
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(ids(plan.images)).toEqual(['ami-1', 'ami-2']);
    expect(keptReason(plan, 'ami-3')).toMatch(/^used by group web/);
    expect(keptReason(plan, 'ami-4')).toBe('one of the newest 1 AMIs for lt-x1, lt-x2');
    for (const other of ['ami-5', 'ami-6', 'ami-7']) expect(keptReason(plan, other)).toBeUndefined();
  });

  it('terminates an orphan with a cut list when it was launched from an image on the line', () => {
    const orphan = (id: string, source: string): InstanceInfo => ({
      id,
      imageId: source,
      state: 'running',
      launchedAt: minutesAgo(1000),
      tags: {
        [Tags.Managed]: 'true',
        [Tags.Role]: Roles.TemporaryInstance,
        [Tags.RunId]: 'run-old',
        [Tags.Groups]: 'g1,...',
        [Tags.LaunchTemplates]: 'lt-x1,...',
        [Tags.SourceImage]: source,
      },
    });
    const plan = planCleanup(
      inventory({
        selectedImages: ['ami-3'],
        temporaryInstances: [orphan('i-ours', 'ami-3'), orphan('i-theirs', 'ami-9')],
      }),
      OPTIONS,
    );
    expect(ids(plan.instances)).toEqual(['i-ours']);
  });
});

describe('planCleanup: orphaned temporary instances', () => {
  const temp = (
    id: string,
    extra: Partial<InstanceInfo> & { tags?: Record<string, string> },
  ): InstanceInfo => ({
    id,
    imageId: 'ami-src',
    state: 'running',
    launchedAt: minutesAgo(1000),
    ...extra,
    tags: {
      [Tags.Managed]: 'true',
      [Tags.Role]: Roles.TemporaryInstance,
      [Tags.RunId]: 'run-old',
      [Tags.Groups]: 'web',
      [Tags.CreatedAt]: new Date(minutesAgo(400)).toISOString(),
      ...extra.tags,
    },
  });

  it.each<{ name: string; instance: InstanceInfo; terminated: boolean }>([
    { name: 'old, of another run, running', instance: temp('i-1', {}), terminated: true },
    { name: 'stopped', instance: temp('i-1', { state: 'stopped' }), terminated: true },
    { name: 'pending', instance: temp('i-1', { state: 'pending' }), terminated: true },
    { name: 'shutting down already', instance: temp('i-1', { state: 'shutting-down' }), terminated: false },
    { name: 'of this run', instance: temp('i-1', { tags: { [Tags.RunId]: 'run-now' } }), terminated: false },
    {
      name: 'younger than the limit',
      instance: temp('i-1', { tags: { [Tags.CreatedAt]: new Date(minutesAgo(300)).toISOString() } }),
      terminated: false,
    },
    {
      name: 'aged by LaunchTime without a CreatedAt tag',
      instance: temp('i-1', { tags: { [Tags.CreatedAt]: 'not a date' } }),
      terminated: true,
    },
    {
      name: 'of unknown age',
      instance: temp('i-1', { launchedAt: 0, tags: { [Tags.CreatedAt]: '' } }),
      terminated: false,
    },
    {
      name: 'of another group',
      instance: temp('i-1', { tags: { [Tags.Groups]: 'api' } }),
      terminated: false,
    },
    {
      name: 'of another group but a scoped template',
      instance: temp('i-1', { tags: { [Tags.Groups]: 'api', [Tags.LaunchTemplates]: 'lt-a' } }),
      terminated: true,
    },
    {
      name: 'not a temporary instance',
      instance: temp('i-1', { tags: { [Tags.Role]: 'ami' } }),
      terminated: false,
    },
    { name: 'not managed', instance: temp('i-1', { tags: { [Tags.Managed]: 'false' } }), terminated: false },
  ])('$name → terminated: $terminated', ({ instance, terminated }) => {
    const plan = planCleanup(inventory({ temporaryInstances: [instance] }), OPTIONS);
    expect(ids(plan.instances)).toEqual(terminated ? ['i-1'] : []);
    if (terminated)
      expect(plan.instances[0]?.reason).toMatch(
        /^temporary instance of run run-old, \d+ minutes old \(over 360\)/,
      );
  });
});
