/**
 * Cleanup end to end: hundreds of old versions, deleted in calls AWS accepts.
 */
import { describe, expect, it } from 'vitest';
import { runCleanup } from '../../src/cleanup/index.js';
import { runtime } from '../helpers/cleanup-invariant.js';
import { RUN, ids, kept, useCleanupSimulator } from '../helpers/cleanup-cycle.js';

const { sim, seed, ec2, autoScaling, markOurs, cycle } = useCleanupSimulator();

describe('cleanup against the simulator', () => {
  it('deletes 450 old versions in calls of at most 200', async () => {
    const s = seed({
      images: ['e1', 'e2', 'e3', 'e4'].map((name) => ({ name })),
      launchTemplates: [
        {
          name: 'lt-web',
          versions: Array.from({ length: 450 }, (_, i) => ({
            imageName: `e${Math.floor(i / 150) + 1}`,
            description: `asg-rolling run r${i} commit abc1234`,
          })),
        },
      ],
      groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Default' }, desiredCapacity: 1 }],
    });
    const lt = s.launchTemplates['lt-web'];
    // e4 is a newer AMI no version uses yet (a bake whose version was never made): it still counts.
    const [e1, e2, e3, e4] = await Promise.all(
      ['e1', 'e2', 'e3', 'e4'].map((n, i) => markOurs(s, n, { templates: ['lt-web'], age: 400 - 100 * i })),
    );

    sim().clearCalls();
    const report = await cycle({ selection: { names: ['web'], tags: [] }, keep: 2 });

    // Kept: version 1 (default, group web) and the newest two; e1 through version 1, e3 and e4 as newest.
    expect(ids(report, 'launch-template-version')).toHaveLength(447);
    expect(kept(report, `${lt}:1`)).toMatch(
      /^default version; used by group web \(LaunchTemplate, \$Default\);/,
    );
    expect(ids(report, 'ami')).toEqual([e2]);
    expect(kept(report, e1)).toMatch(/used by group web/);
    expect(kept(report, e3)).toMatch(/one of the newest 2 AMIs/);
    expect(kept(report, e4)).toBe(`one of the newest 2 AMIs for ${lt}`);
  });

  it('sends DeleteLaunchTemplateVersions in batches of at most 200', async () => {
    const s = seed({
      images: [{ name: 'e1' }],
      launchTemplates: [
        {
          name: 'lt-web',
          versions: Array.from({ length: 450 }, (_, i) => ({
            imageName: 'e1',
            description: `asg-rolling run r${i} commit abc1234`,
          })),
        },
      ],
      groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 0 }],
    });
    await markOurs(s, 'e1', { templates: ['lt-web'], age: 100 });
    sim().clearCalls();
    const report = await runCleanup(
      { selection: { names: ['web'], tags: [] }, keep: 5, orphanAgeMinutes: 360, dryRun: false, runId: RUN },
      runtime({ ec2: ec2(), autoScaling: autoScaling() }),
    );
    const batches = sim()
      .calls.filter((c) => c.action === 'DeleteLaunchTemplateVersions')
      .map((c) => (c.params.Versions as unknown[] | undefined)?.length ?? 0);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...batches)).toBeLessThanOrEqual(200);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(444);
    expect(report.deleted).toHaveLength(444);
    // Version 1 is the default, 446..450 the newest five.
    expect(report.failures).toEqual([]);
  });
});
