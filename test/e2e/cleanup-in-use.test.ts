/**
 * Cleanup end to end: what a group, an instance, a launch configuration or another template still
 * uses keeps its version or AMI, and what is not ours is never touched.
 */
import { DeregisterImageCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { existingImages } from '../helpers/cleanup-invariant.js';
import type { Fixture } from '../sim/index.js';
import { minutesAgo, ours, ids, kept, useCleanupSimulator } from '../helpers/cleanup-cycle.js';

const { sim, seed, ec2, markOurs, cycle } = useCleanupSimulator();

describe('cleanup against the simulator', () => {
  it('keeps an AMI shared with another template whose kept version still uses it', async () => {
    const fixture: Fixture = {
      images: ['base', 'shared', 'a1', 'a2', 'a3'].map((name) => ({ name })),
      launchTemplates: [
        {
          name: 'lt-web',
          versions: [{ imageName: 'base', description: 'initial' }, ...ours('shared', 'a1', 'a2', 'a3')],
        },
        { name: 'lt-api', versions: [{ imageName: 'base', description: 'initial' }, ...ours('shared')] },
      ],
      groups: [
        { name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 1 },
        { name: 'api', launchTemplate: { name: 'lt-api', version: '2' }, desiredCapacity: 1 },
      ],
    };
    const s = seed(fixture);
    const web = s.launchTemplates['lt-web'];
    const api = s.launchTemplates['lt-api'];
    const shared = await markOurs(s, 'shared', { templates: ['lt-web', 'lt-api'], age: 500 });
    const [a1, a2, a3] = await Promise.all(
      ['a1', 'a2', 'a3'].map((n, i) => markOurs(s, n, { templates: ['lt-web'], age: 400 - 100 * i })),
    );

    const report = await cycle({ selection: { names: ['web'], tags: [] } });

    expect(ids(report, 'launch-template-version')).toEqual([`${web}:2`, `${web}:3`, `${web}:4`]);
    expect(ids(report, 'ami')).toEqual([a1, a2].sort());
    expect(ids(report, 'snapshot')).toHaveLength(2);
    expect(kept(report, shared)).toContain(`used by group api (LaunchTemplate → ${api}:2)`);
    expect(kept(report, a3)).toContain(`used by group web (LaunchTemplate, $Latest → ${web}:5)`);
    expect(kept(report, `${web}:5`)).toContain('latest version');
    expect([...(await existingImages(ec2()))]).toEqual(expect.arrayContaining([s.images.base, shared, a3]));
  });

  it('keeps an AMI that only a remaining version of a template out of scope still uses', async () => {
    const s = seed({
      images: ['base', 'shared', 'a1', 'b1'].map((name) => ({ name })),
      launchTemplates: [
        {
          name: 'lt-web',
          versions: [{ imageName: 'base', description: 'initial' }, ...ours('shared', 'a1')],
        },
        // lt-api:2 uses the shared AMI, but no group does: api follows $Default, version 1.
        { name: 'lt-api', versions: [{ imageName: 'base', description: 'initial' }, ...ours('shared')] },
      ],
      groups: [
        { name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 1 },
        { name: 'api', launchTemplate: { name: 'lt-api' }, desiredCapacity: 1 },
      ],
    });
    const web = s.launchTemplates['lt-web'];
    const api = s.launchTemplates['lt-api'];
    const shared = await markOurs(s, 'shared', { templates: ['lt-web', 'lt-api'], age: 500 });
    await markOurs(s, 'a1', { templates: ['lt-web'], age: 300 });
    // A newer AMI for lt-api, so the shared one is not kept as lt-api's newest either.
    await markOurs(s, 'b1', { templates: ['lt-api'], age: 100 });

    const report = await cycle({ selection: { names: ['web'], tags: [] } });

    expect(ids(report, 'launch-template-version')).toEqual([`${web}:2`]);
    expect(ids(report, 'ami')).toEqual([]);
    expect(kept(report, shared)).toBe(`used by launch template version ${api}:2`);
  });

  it('keeps the default version and versions referenced by $Latest, $Default and number, by any group', async () => {
    const names = ['c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
    const s = seed({
      images: ['base', ...names].map((name) => ({ name })),
      launchTemplates: [
        {
          name: 'lt-web',
          defaultVersion: 3,
          versions: [{ imageName: 'base', description: 'initial' }, ...ours(...names)],
        },
      ],
      groups: [
        {
          name: 'web',
          launchTemplate: { name: 'lt-web', version: '$Latest' },
          desiredCapacity: 1,
          tags: { app: 'shop' },
        },
        {
          name: 'web-def',
          launchTemplate: { name: 'lt-web', version: '$Default' },
          desiredCapacity: 1,
          tags: { app: 'shop' },
        },
        {
          name: 'web-num',
          launchTemplate: { name: 'lt-web', version: '5' },
          mixedInstancesPolicy: true,
          desiredCapacity: 1,
          tags: { app: 'shop' },
        },
        {
          name: 'batch',
          launchTemplate: { name: 'lt-web', version: '6' },
          desiredCapacity: 0,
          tags: { app: 'batch' },
        },
      ],
    });
    const lt = s.launchTemplates['lt-web'];
    const amis = await Promise.all(
      names.map((n, i) => markOurs(s, n, { templates: ['lt-web'], age: 900 - 100 * i })),
    );
    const byName = Object.fromEntries(names.map((n, i) => [n, amis[i]]));

    const report = await cycle({ selection: { names: [], tags: [{ key: 'app', value: 'shop' }] } });

    expect(ids(report, 'launch-template-version')).toEqual([`${lt}:2`, `${lt}:4`, `${lt}:7`]);
    expect(ids(report, 'ami')).toEqual([byName.c2, byName.c4, byName.c7].sort());
    expect(kept(report, `${lt}:3`)).toMatch(
      /^default version; used by group web-def \(LaunchTemplate, \$Default\); used by instance i-\w+ of group web-def$/,
    );
    expect(kept(report, `${lt}:5`)).toMatch(
      /^used by group web-num \(MixedInstancesPolicy\); used by instance i-\w+ of group web-num$/,
    );
    expect(kept(report, `${lt}:6`)).toBe('used by group batch (LaunchTemplate)');
    expect(kept(report, `${lt}:8`)).toMatch(
      /^latest version; used by group web \(LaunchTemplate, \$Latest\)/,
    );
  });

  it('never touches untagged AMIs or ours of other templates, and copes with a version whose AMI is gone', async () => {
    const s = seed({
      images: ['base', 'manual', 'foreign', 'gone', 'd3'].map((name) => ({ name })),
      launchTemplates: [
        { name: 'lt-web', versions: [{ imageName: 'base', description: 'initial' }, ...ours('gone', 'd3')] },
        { name: 'lt-other', versions: [{ imageName: 'base', description: 'initial' }] },
      ],
      groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 1 }],
    });
    const web = s.launchTemplates['lt-web'];
    sim().state.images.get(s.images.manual ?? '')!.CreationDate = minutesAgo(10_000);
    const foreign = await markOurs(s, 'foreign', { templates: ['lt-other'], groups: ['api'], age: 9000 });
    await markOurs(s, 'gone', { templates: ['lt-web'], age: 800 });
    await markOurs(s, 'd3', { templates: ['lt-web'], age: 700 });
    await ec2().send(new DeregisterImageCommand({ ImageId: s.images.gone }));

    const report = await cycle({ selection: { names: ['web'], tags: [] } });

    expect(ids(report, 'launch-template-version')).toEqual([`${web}:2`]);
    expect(ids(report, 'ami')).toEqual([]);
    const left = await existingImages(ec2());
    for (const id of [s.images.manual, foreign, s.images.base, s.images.d3])
      expect(left.has(id ?? '')).toBe(true);
    expect(report.kept.some((k) => k.id === s.images.manual || k.id === foreign)).toBe(false);
  });

  it('keeps an AMI only a launch configuration of a group outside the selection uses', async () => {
    const s = seed({
      images: ['base', 'l1', 'l2', 'l3'].map((name) => ({ name })),
      launchTemplates: [
        {
          name: 'lt-web',
          versions: [{ imageName: 'base', description: 'initial' }, ...ours('l1', 'l2', 'l3')],
        },
      ],
      launchConfigurations: [{ name: 'legacy-lc', imageName: 'l1' }],
      groups: [
        { name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 1 },
        { name: 'legacy', launchConfigurationName: 'legacy-lc', desiredCapacity: 0 },
      ],
    });
    const web = s.launchTemplates['lt-web'];
    const [l1, l2, l3] = await Promise.all(
      ['l1', 'l2', 'l3'].map((n, i) => markOurs(s, n, { templates: ['lt-web'], age: 500 - 100 * i })),
    );

    const report = await cycle({ selection: { names: ['web'], tags: [] } });

    expect(ids(report, 'launch-template-version')).toEqual([`${web}:2`, `${web}:3`]);
    expect(ids(report, 'ami')).toEqual([l2]);
    expect(kept(report, l1)).toBe('used by group legacy (launch configuration legacy-lc)');
    expect(kept(report, l3)).toMatch(/^used by group web/);
    expect(sim().calls.some((c) => c.action === 'DescribeLaunchConfigurations')).toBe(true);
  });
});
