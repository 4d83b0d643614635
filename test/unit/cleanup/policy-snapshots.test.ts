/** planCleanup: snapshots of deregistered AMIs and snapshots whose AMI is gone. */
import { describe, expect, it } from 'vitest';
import { Roles, Tags } from '../../../src/aws/tags.js';
import { planCleanup } from '../../../src/cleanup/policy.js';
import type { SnapshotInfo } from '../../../src/aws/resources.js';
import { minutesAgo, OPTIONS, template, ami, inventory, ids } from './policy-builders.js';

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
