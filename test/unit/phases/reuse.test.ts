/** Which planned images reuse an AMI instead of baking one. */
import type { Image } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { Tags } from '../../../src/aws/tags.js';
import { bakeKey, type DeployDigest } from '../../../src/phases/bake-key.js';
import { chooseReuse } from '../../../src/phases/reuse.js';

const digest: DeployDigest = { commit: 'c0ffee', content: 'digest-of-content' };
const ami = (id: string, tags: Record<string, string>, created = '2026-01-01T00:00:00.000Z'): Image => ({
  ImageId: id,
  State: 'available',
  CreationDate: created,
  Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
});

describe('chooseReuse', () => {
  it('reuses the newest AMI with the same bake key, and bakes where none matches', () => {
    const plan = chooseReuse({
      sourceImageIds: ['ami-base', 'ami-other'],
      digest,
      sources: new Map(),
      matches: [
        ami('ami-1', { [Tags.BakeKey]: bakeKey(digest, 'ami-base'), [Tags.RunId]: '7-1' }),
        ami('ami-2', { [Tags.BakeKey]: bakeKey(digest, 'ami-base'), [Tags.RunId]: '8-1' }, '2026-02-01'),
        ami('ami-3', { [Tags.BakeKey]: bakeKey({ ...digest, commit: 'other' }, 'ami-other') }),
      ],
    });
    expect(plan.keys.get('ami-base')).toBe(bakeKey(digest, 'ami-base'));
    expect([...plan.reused]).toEqual([['ami-base', { imageId: 'ami-2', runId: '8-1' }]]);
  });

  it('reuses the source image itself when it was baked from its own source with this deploy', () => {
    const running = ami('ami-running', {
      [Tags.SourceImage]: 'ami-base',
      [Tags.BakeKey]: bakeKey(digest, 'ami-base'),
      [Tags.RunId]: '5-1',
    });
    const plan = chooseReuse({
      sourceImageIds: ['ami-running'],
      digest,
      sources: new Map([['ami-running', running]]),
      matches: [],
    });
    expect(plan.reused.get('ami-running')).toEqual({ imageId: 'ami-running', runId: '5-1' });
    const changed = chooseReuse({
      sourceImageIds: ['ami-running'],
      digest: { ...digest, content: 'one byte more' },
      sources: new Map([['ami-running', running]]),
      matches: [],
    });
    expect(changed.reused.size).toBe(0);
  });
});
