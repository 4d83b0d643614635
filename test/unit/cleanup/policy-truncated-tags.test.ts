/** planCleanup: scoping by tag lists that AWS cut at 256 characters. */
import { describe, expect, it } from 'vitest';
import { Roles, Tags } from '../../../src/aws/tags.js';
import { planCleanup } from '../../../src/cleanup/policy.js';
import { isTruncated, tagList } from '../../../src/cleanup/scope.js';
import type { InstanceInfo } from '../../../src/aws/resources.js';
import { minutesAgo, OPTIONS, template, ref, ami, inventory, ids, keptReason } from './policy-builders.js';

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
        versions: [
          { templateId: 'lt-a', version: 1, imageId: 'ami-3', description: 'by hand', createdAt: 1 },
        ],
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
