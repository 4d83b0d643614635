/** planCleanup: which of our AMIs are deregistered, and why the others stay. */
import { describe, expect, it } from 'vitest';
import { Tags } from '../../../src/aws/tags.js';
import { planCleanup } from '../../../src/cleanup/policy.js';
import type { GroupReference, Inventory } from '../../../src/cleanup/types.js';
import type { ImageInfo, InstanceInfo } from '../../../src/aws/resources.js';
import { OPTIONS, template, versions, ref, ami, inventory, ids, keptReason } from './policy-builders.js';

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
