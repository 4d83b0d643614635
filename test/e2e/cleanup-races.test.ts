/**
 * Cleanup while others keep working: between reading the account and deleting, a group is created
 * on a version being deleted, or a template version is pointed at an AMI about to go. The
 * simulator's delay fault holds DeleteLaunchTemplateVersions open while that happens; cleanup reads
 * the uses again right before each step, so nothing found in use then is deleted.
 */
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { runCleanup } from '../../src/cleanup/index.js';
import type { CleanupReport } from '../../src/report/records.js';
import { assertNothingInUseLost, existingImages, runtime } from '../helpers/cleanup-invariant.js';
import { ids, kept, ours, RUN, useCleanupSimulator } from '../helpers/cleanup-cycle.js';
import type { SeedResult } from '../sim/index.js';

const { sim, seed, ec2, autoScaling, markOurs } = useCleanupSimulator();

/** A template of the fixture with its id and the ids of its three AMIs (versions 1 to 3). */
interface Line {
  id: string;
  images: string[];
}

/**
 * lt-a and lt-b, each with three versions of ours on their own AMIs; web and api follow $Latest.
 * Returned in the order cleanup deletes their versions (by template id): `first`, then `second`.
 */
async function twoTemplates(): Promise<{ s: SeedResult; first: Line; second: Line }> {
  const s = seed({
    images: ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'other'].map((name) => ({ name })),
    launchTemplates: [
      { name: 'lt-a', versions: ours('a1', 'a2', 'a3'), defaultVersion: 3 },
      { name: 'lt-b', versions: ours('b1', 'b2', 'b3'), defaultVersion: 3 },
      { name: 'lt-other', versions: [{ imageName: 'other', description: 'by hand' }] },
    ],
    groups: [
      { name: 'web', launchTemplate: { name: 'lt-a', version: '$Latest' }, desiredCapacity: 0 },
      { name: 'api', launchTemplate: { name: 'lt-b', version: '$Latest' }, desiredCapacity: 0 },
    ],
  });
  const line = async (template: string, names: string[]): Promise<Line> => ({
    id: s.launchTemplates[template] ?? '',
    images: await Promise.all(
      names.map((n, i) => markOurs(s, n, { templates: [template], age: 900 - 100 * i })),
    ),
  });
  const lines = [await line('lt-a', ['a1', 'a2', 'a3']), await line('lt-b', ['b1', 'b2', 'b3'])];
  lines.sort((x, y) => x.id.localeCompare(y.id));
  return { s, first: lines[0]!, second: lines[1]! };
}

/** Runs cleanup of both groups with the first DeleteLaunchTemplateVersions held 1.5 s, doing `meanwhile` during it. */
async function cleanupWhile(meanwhile: () => Promise<void>): Promise<CleanupReport> {
  sim().faults.add({ kind: 'api', action: 'DeleteLaunchTemplateVersions', nth: 1, delayMs: 1_500 });
  const running = runCleanup(
    {
      selection: { names: ['web', 'api'], tags: [] },
      keep: 1,
      orphanAgeMinutes: 360,
      dryRun: false,
      runId: RUN,
    },
    runtime({ ec2: ec2(), autoScaling: autoScaling() }),
  );
  // The call is on its way (the simulator has seen it) but not yet carried out.
  while (sim().faults.list()[0]?.seen !== 1) await new Promise((resolve) => setTimeout(resolve, 10));
  await meanwhile();
  return running;
}

const group = (name: string, templateId: string, version: string) =>
  new CreateAutoScalingGroupCommand({
    AutoScalingGroupName: name,
    LaunchTemplate: { LaunchTemplateId: templateId, Version: version },
    MinSize: 0,
    MaxSize: 1,
    DesiredCapacity: 0,
    VPCZoneIdentifier: 'subnet-0sim0000000000001',
  });

describe('cleanup racing other work', () => {
  it('keeps a version a group took up while an earlier delete was on its way, and an AMI a new version names', async () => {
    const { s, first, second } = await twoTemplates();
    const before = await existingImages(ec2());
    const report = await cleanupWhile(async () => {
      // The second template's versions are deleted in the next call: a new group takes up its version 2.
      await autoScaling().send(group('late', second.id, '2'));
      // Someone points another template at the first template's AMI of version 2, due to be deregistered.
      await ec2().send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: s.launchTemplates['lt-other'],
          LaunchTemplateData: { ImageId: first.images[1] },
        }),
      );
    });
    expect(report.failures).toEqual([]);
    expect(ids(report, 'launch-template-version')).toEqual(
      [`${first.id}:1`, `${first.id}:2`, `${second.id}:1`].sort(),
    );
    expect(kept(report, `${second.id}:2`)).toBe(
      'used by group late (LaunchTemplate) (found in use when read again right before deleting)',
    );
    expect(kept(report, second.images[1])).toMatch(/^still used by lt-\w+:2/);
    expect(kept(report, first.images[1])).toBe(
      `used by launch template version ${s.launchTemplates['lt-other']}:2 (found in use when read again right before deleting)`,
    );
    expect(ids(report, 'ami')).toEqual([first.images[0], second.images[0]].sort());
    await assertNothingInUseLost({ ec2: ec2(), autoScaling: autoScaling() }, before);
  });

  it('keeps the AMI and snapshot of a version a group took up while that very version was being deleted', async () => {
    const { first } = await twoTemplates();
    const image = first.images[0] ?? '';
    const snapshot = sim().state.images.get(image)?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    const report = await cleanupWhile(async () => {
      await autoScaling().send(group('late', first.id, '1'));
    });
    expect(report.failures).toEqual([]);
    // AWS deletes a version a group names (nothing can make that delete conditional): it goes…
    expect(ids(report, 'launch-template-version')).toContain(`${first.id}:1`);
    // …but the group launches nothing without its image, so the image and its snapshot stay.
    expect(kept(report, image)).toBe(
      `used by group late (LaunchTemplate) through ${first.id}:1 (found in use when read again right before deleting)`,
    );
    expect(sim().state.images.has(image)).toBe(true);
    expect(sim().state.snapshots.has(snapshot)).toBe(true);
  });

  it('a second cleanup while the AMIs the first deregistered are still described deletes and fails nothing', async () => {
    const { first, second } = await twoTemplates();
    // AWS describes a deregistered AMI (State deregistered) for a short interval (API_DescribeImages).
    sim().setLatency({ consistency: { deregistered: 3_600_000 } });
    const options = {
      selection: { names: ['web', 'api'], tags: [] },
      keep: 1,
      orphanAgeMinutes: 360,
      dryRun: false,
      runId: RUN,
    };
    const once = await runCleanup(options, runtime({ ec2: ec2(), autoScaling: autoScaling() }));
    expect(once.failures).toEqual([]);
    expect(ids(once, 'ami')).toEqual(
      [first.images[0], first.images[1], second.images[0], second.images[1]].sort(),
    );
    expect(sim().state.deregisteredImages.size).toBe(4);
    const again = await runCleanup(options, runtime({ ec2: ec2(), autoScaling: autoScaling() }));
    expect(again.failures).toEqual([]);
    expect(again.deleted).toEqual([]);
    // The AMIs in use are still kept: the deregistered ones did not take their places in keep-N.
    expect(sim().state.images.has(first.images[2] ?? '')).toBe(true);
    expect(sim().state.images.has(second.images[2] ?? '')).toBe(true);
  });
});
