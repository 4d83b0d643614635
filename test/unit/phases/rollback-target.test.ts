/** Which image `rollback` returns a group to, and the reasons it refuses. */
import type { Image } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { rollbackVersionDescription, Tags, versionDescription } from '../../../src/aws/tags.js';
import { chooseRollbackTarget, commitImageOf } from '../../../src/phases/rollback-target.js';
import { plannedGroup } from '../../helpers/fakes.js';

const ours = (id: string, tags: Record<string, string>, extra: Partial<Image> = {}): Image => ({
  ImageId: id,
  State: 'available',
  CreationDate: '2026-01-01T00:00:00.000Z',
  Tags: Object.entries({ [Tags.Managed]: 'true', [Tags.Role]: 'ami', ...tags }).map(([Key, Value]) => ({
    Key,
    Value,
  })),
  ...extra,
});
const base: Image = { ImageId: 'ami-base', State: 'available' };
// The group runs ami-b, which run 2 baked from ami-a, which run 1 baked from ami-base.
const amiA = ours('ami-a', {
  [Tags.SourceImage]: 'ami-base',
  [Tags.Commit]: 'aaaa111',
  [Tags.RunId]: '1-1',
  [Tags.LaunchTemplates]: 'lt-1',
});
const amiB = ours('ami-b', { [Tags.SourceImage]: 'ami-a', [Tags.Commit]: 'bbbb222', [Tags.RunId]: '2-1' });
const group = plannedGroup({
  sourceImageId: 'ami-b',
  versionDescription: versionDescription('2-1', 'bbbb222'),
});
const facts = (...images: Image[]) => ({
  images: new Map(images.map((i) => [i.ImageId ?? '', i])),
  commitAmis: [amiA],
  keep: 5,
});

describe('chooseRollbackTarget', () => {
  it('previous: the source image of the AMI the group runs', () => {
    expect(chooseRollbackTarget(group, { kind: 'previous' }, facts(amiA, amiB, base))).toEqual({
      imageId: 'ami-a',
      why: 'the image it ran before ami-b',
    });
  });

  it('previous after a rollback: the image the rollback version left, so it goes forward again', () => {
    const rolledBack = plannedGroup({
      sourceImageId: 'ami-a',
      versionDescription: rollbackVersionDescription('3-1', 'ami-b'),
    });
    expect(chooseRollbackTarget(rolledBack, { kind: 'previous' }, facts(amiA, amiB))).toMatchObject({
      imageId: 'ami-b',
    });
  });

  it('refuses a group whose current version is not ours, whatever the target', () => {
    const theirs = plannedGroup({ sourceImageId: 'ami-b', versionDescription: 'hotfix by hand' });
    for (const target of [
      { kind: 'previous' },
      { kind: 'commit', commit: 'aaaa111' },
      { kind: 'image', imageId: 'ami-a' },
    ] as const) {
      const choice = chooseRollbackTarget(theirs, target, facts(amiA, amiB));
      expect(choice).toEqual({
        error: expect.stringContaining(
          'was not made by asg-rolling (description "hotfix by hand")',
        ) as string,
      });
    }
  });

  it('refuses a target that is gone, naming cleanup-keep', () => {
    const choice = chooseRollbackTarget(group, { kind: 'previous' }, facts(amiB));
    expect(choice).toEqual({
      error: expect.stringMatching(/rollback target ami-a is gone.*cleanup-keep \(5\)/) as string,
    });
  });

  it('refuses a target that is not available, and a current image that is not ours', () => {
    expect(
      chooseRollbackTarget(group, { kind: 'previous' }, facts({ ...amiA, State: 'pending' }, amiB)),
    ).toEqual({ error: 'its rollback target ami-a is pending, not available' });
    const fromBase = plannedGroup({
      sourceImageId: 'ami-base',
      versionDescription: group.versionDescription,
    });
    expect(chooseRollbackTarget(fromBase, { kind: 'previous' }, facts(base))).toEqual({
      error: expect.stringContaining('what ran before ami-base is unknown') as string,
    });
  });

  it('commit: the AMI of that commit made for the template; an AMI id as given', () => {
    expect(chooseRollbackTarget(group, { kind: 'commit', commit: 'aaaa111' }, facts(amiA, amiB))).toEqual({
      imageId: 'ami-a',
      why: 'baked from commit aaaa111 by run 1-1',
    });
    expect(chooseRollbackTarget(group, { kind: 'commit', commit: 'cccc333' }, facts(amiA))).toEqual({
      error: expect.stringContaining('no available AMI of ours from commit cccc333') as string,
    });
    expect(chooseRollbackTarget(group, { kind: 'image', imageId: 'ami-base' }, facts(base))).toEqual({
      imageId: 'ami-base',
      why: 'as given',
    });
  });
});

describe('commitImageOf', () => {
  it('matches a commit prefix, the template or (past a truncated tag) the group, newest first', () => {
    const older = ours('ami-old', { [Tags.Commit]: 'aaaa1119', [Tags.LaunchTemplates]: 'lt-1' });
    const newer = ours(
      'ami-new',
      { [Tags.Commit]: 'aaaa1119', [Tags.LaunchTemplates]: 'lt-9,...', [Tags.Groups]: 'web' },
      { CreationDate: '2026-02-01T00:00:00.000Z' },
    );
    const elsewhere = ours('ami-else', { [Tags.Commit]: 'aaaa1119', [Tags.LaunchTemplates]: 'lt-2' });
    expect(commitImageOf(plannedGroup(), 'aaaa111', [older, newer, elsewhere])?.ImageId).toBe('ami-new');
    expect(commitImageOf(plannedGroup({ name: 'api' }), 'aaaa111', [newer, elsewhere])).toBeUndefined();
  });
});
