/**
 * planCleanup: the minimum age, deregistered AMIs AWS still lists, AMIs shared with other accounts,
 * warm-pool instances, and the volumes temporary instances leave behind.
 */
import { describe, expect, it } from 'vitest';
import { Roles, Tags } from '../../../src/aws/tags.js';
import { MinimumAgeMinutes } from '../../../src/cleanup/age.js';
import { planCleanup } from '../../../src/cleanup/policy.js';
import type { VolumeInfo } from '../../../src/aws/resources.js';
import {
  DayMinutes,
  OPTIONS,
  ami,
  ids,
  inventory,
  keptReason,
  minutesAgo,
  ref,
  template,
  versions,
} from './policy-builders.js';

const inScope = { [Tags.LaunchTemplates]: 'lt-a' };

describe('planCleanup: the minimum age', () => {
  it('keeps a version another run made less than an hour ago, not one this run made', () => {
    const list = versions('lt-a', [1, 5], () => undefined).map((v) =>
      v.version === 2 ? { ...v, createdAt: minutesAgo(10) } : v,
    );
    list[2] = {
      ...list[2]!,
      description: `asg-rolling run ${OPTIONS.runId} commit abc1234`,
      createdAt: minutesAgo(5),
    };
    const plan = planCleanup(inventory({ templates: [template('lt-a', 5, 5)], versions: list }), {
      ...OPTIONS,
      keep: 1,
    });
    expect(ids(plan.versions)).toEqual(['lt-a:1', 'lt-a:3', 'lt-a:4']);
    expect(keptReason(plan, 'lt-a:2')).toBe(`made 10 minutes ago (younger than ${MinimumAgeMinutes})`);
  });

  it('keeps an AMI another run made less than an hour ago, and one whose age is unknown', () => {
    const plan = planCleanup(
      inventory({
        images: [
          ami('ami-new', 5, inScope),
          ami('ami-young', 30, inScope),
          ami('ami-undated', 0, inScope, { createdAt: 0 }),
          ami('ami-old', DayMinutes, inScope),
        ],
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(ids(plan.images)).toEqual(['ami-old']);
    expect(keptReason(plan, 'ami-young')).toBe(`made 30 minutes ago (younger than ${MinimumAgeMinutes})`);
    expect(keptReason(plan, 'ami-undated')).toBe('its age is unknown');
  });
});

describe('planCleanup: deregistered AMIs', () => {
  it('neither ranks nor deregisters an AMI AWS still lists as deregistered', () => {
    const plan = planCleanup(
      inventory({
        images: [
          ami('ami-gone', 100, inScope, { state: 'deregistered' }),
          ami('ami-2', 200, inScope),
          ami('ami-3', 300, inScope),
        ],
      }),
      { ...OPTIONS, keep: 1 },
    );
    // Without the deregistered one in the ranking, ami-2 is the newest and stays for rollback.
    expect(ids(plan.images)).toEqual(['ami-3']);
    expect(keptReason(plan, 'ami-2')).toBe('one of the newest 1 AMIs for lt-a');
    expect(keptReason(plan, 'ami-gone')).toBeUndefined();
  });
});

describe('planCleanup: AMIs others may launch', () => {
  it('keeps an AMI shared with another account or public, naming who', () => {
    const plan = planCleanup(
      inventory({
        images: [
          ami('ami-new', 100, inScope),
          ami('ami-shared', 200, inScope),
          ami('ami-public', 300, inScope),
          ami('ami-private', 400, inScope),
        ],
        sharing: { 'ami-shared': ['account 111122223333'], 'ami-public': ['public'] },
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(ids(plan.images)).toEqual(['ami-private']);
    expect(keptReason(plan, 'ami-shared')).toBe(
      'shared with account 111122223333, who may launch it where we cannot see',
    );
    expect(keptReason(plan, 'ami-public')).toMatch(/^shared with public/);
  });
});

describe('planCleanup: warm pools', () => {
  it('keeps the version (and its AMI) a warm-pool instance was launched from', () => {
    const plan = planCleanup(
      inventory({
        templates: [template('lt-a', 5, 5)],
        versions: versions('lt-a', [1, 5], (n) => `ami-${n}`),
        references: [ref('web', 'lt-a', '$Latest'), ref('web', 'lt-a', '2', 'warm pool instance i-warm')],
        images: [1, 2, 3, 4, 5].map((n) => ami(`ami-${n}`, DayMinutes + 10 * (6 - n), inScope)),
      }),
      { ...OPTIONS, keep: 1 },
    );
    expect(ids(plan.versions)).toEqual(['lt-a:1', 'lt-a:3', 'lt-a:4']);
    expect(keptReason(plan, 'lt-a:2')).toBe('used by warm pool instance i-warm of group web');
    expect(ids(plan.images)).toEqual(['ami-1', 'ami-3', 'ami-4']);
    expect(keptReason(plan, 'ami-2')).toMatch(/^used by warm pool instance i-warm of group web \(lt-a:2\)/);
  });
});

describe('planCleanup: volumes left by temporary instances', () => {
  const volume = (id: string, minutesOld: number, extra: Partial<VolumeInfo> = {}): VolumeInfo => ({
    id,
    state: 'available',
    createdAt: minutesAgo(minutesOld),
    tags: {
      [Tags.Managed]: 'true',
      [Tags.Role]: Roles.TemporaryInstance,
      [Tags.RunId]: 'run-old',
      [Tags.Groups]: 'web',
    },
    ...extra,
  });

  it('deletes our available volumes older than the minimum age, in scope, and nothing else', () => {
    const plan = planCleanup(
      inventory({
        volumes: [
          volume('vol-old', DayMinutes),
          volume('vol-young', 20),
          volume('vol-attached', DayMinutes, { state: 'in-use' }),
          volume('vol-other-app', DayMinutes, {
            tags: { [Tags.Managed]: 'true', [Tags.Role]: Roles.TemporaryInstance, [Tags.Groups]: 'api' },
          }),
          volume('vol-not-ours', DayMinutes, { tags: { [Tags.Groups]: 'web' } }),
        ],
      }),
      OPTIONS,
    );
    expect(plan.volumes).toEqual([
      {
        id: 'vol-old',
        reason: 'volume of a temporary instance of run run-old, left available after it was terminated',
      },
    ]);
  });
});
