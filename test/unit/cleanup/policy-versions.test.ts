/** planCleanup: which launch template versions go, and why the others stay. */
import { describe, expect, it } from 'vitest';
import { planCleanup } from '../../../src/cleanup/policy.js';
import type { GroupReference } from '../../../src/cleanup/types.js';
import type { VersionInfo } from '../../../src/aws/resources.js';
import {
  DayMinutes,
  OPTIONS,
  minutesAgo,
  template,
  versions,
  ref,
  inventory,
  ids,
  keptReason,
} from './policy-builders.js';

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
      createdAt: minutesAgo(DayMinutes),
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
