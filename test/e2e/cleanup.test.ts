/**
 * Cleanup end to end: runCleanup with real SDK clients against the simulator. Every case runs the
 * same cycle (dry run, real run, rerun) and then proves that nothing in use lost its image.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import {
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  EnableImageDeregistrationProtectionCommand,
  RunInstancesCommand,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCleanup } from '../../src/cleanup/index.js';
import type { CleanupOptions } from '../../src/cleanup/types.js';
import { type CleanupReport } from '../../src/report/records.js';
import type { Selection } from '../../src/config/index.js';
import { Roles, Tags } from '../../src/aws/tags.js';
import { assertNothingInUseLost, existingImages, runtime } from '../helpers/cleanup-invariant.js';
import { startSimulator, type Fixture, type SeedResult, type Simulator } from '../sim/index.js';

let sim: Simulator;
let ec2: EC2Client;
let autoScaling: AutoScalingClient;
const RUN = 'run-now';
const Mutations = new Set([
  'DeleteLaunchTemplateVersions',
  'DeregisterImage',
  'DeleteSnapshot',
  'TerminateInstances',
]);

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.001 });
  const config = { ...sim.clientConfig(), maxAttempts: 3 };
  expect(config).toMatchObject({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  ec2 = new EC2Client(config);
  autoScaling = new AutoScalingClient(config);
});
afterAll(async () => {
  ec2?.destroy();
  autoScaling?.destroy();
  await sim?.stop();
});
beforeEach(async () => {
  await sim.reset();
});

const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();

/** Versions as we make them, each using the named image. */
const ours = (...images: string[]) =>
  images.map((imageName, i) => ({ imageName, description: `asg-rolling run r${i} commit abc1234` }));

/** Marks a seeded image as one of our AMIs for the given templates, made `age` minutes ago. */
async function markOurs(
  seeded: SeedResult,
  image: string,
  opts: { templates?: string[]; groups?: string[]; age: number; runId?: string },
): Promise<string> {
  const id = seeded.images[image] ?? '';
  const templateIds = (opts.templates ?? []).map((t) => seeded.launchTemplates[t] ?? t);
  await ec2.send(
    new CreateTagsCommand({
      Resources: [id],
      Tags: [
        { Key: Tags.Managed, Value: 'true' },
        { Key: Tags.Role, Value: Roles.Ami },
        { Key: Tags.RunId, Value: opts.runId ?? 'run-old' },
        { Key: Tags.LaunchTemplates, Value: templateIds.join(',') },
        { Key: Tags.Groups, Value: (opts.groups ?? []).join(',') },
        { Key: Tags.CreatedAt, Value: minutesAgo(opts.age) },
      ],
    }),
  );
  // Seeding creates every image in the same instant; the ranking by CreationDate needs an order.
  const image_ = sim.state.images.get(id);
  if (image_) image_.CreationDate = minutesAgo(opts.age);
  return id;
}

const key = (report: CleanupReport): string[] => report.deleted.map((d) => `${d.kind} ${d.id}`).sort();

/**
 * Dry run (no change), real run (the same deletions, nothing in use lost), rerun (nothing to do).
 * Returns the real run's report.
 */
async function cycle(options: Partial<CleanupOptions> & { selection: Selection }): Promise<CleanupReport> {
  const full: CleanupOptions = { keep: 1, orphanAgeMinutes: 360, dryRun: false, runId: RUN, ...options };
  const before = await existingImages(ec2);

  sim.clearCalls();
  const dry = await runCleanup({ ...full, dryRun: true }, runtime({ ec2, autoScaling }));
  expect(sim.calls.filter((c) => !c.action.startsWith('Describe')).map((c) => c.action)).toEqual([]);
  expect(dry.deleted.every((d) => d.dryRun)).toBe(true);
  expect(await existingImages(ec2)).toEqual(before);

  sim.clearCalls();
  const real = await runCleanup(full, runtime({ ec2, autoScaling }));
  expect(real.failures).toEqual([]);
  expect(key(real)).toEqual(key(dry));
  expect(real.deleted.every((d) => !d.dryRun)).toBe(true);
  await assertNothingInUseLost({ ec2, autoScaling }, before);

  sim.clearCalls();
  const again = await runCleanup(full, runtime({ ec2, autoScaling }));
  expect(again.deleted).toEqual([]);
  expect(again.failures).toEqual([]);
  expect(sim.calls.filter((c) => Mutations.has(c.action))).toEqual([]);
  return real;
}

const ids = (report: CleanupReport, kind: string): string[] =>
  report.deleted
    .filter((d) => d.kind === kind)
    .map((d) => d.id)
    .sort();
const kept = (report: CleanupReport, id: string | undefined): string | undefined =>
  report.kept.find((k) => k.id === id)?.reason;

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
    const s = sim.seed(fixture);
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
    expect([...(await existingImages(ec2))]).toEqual(expect.arrayContaining([s.images.base, shared, a3]));
  });

  it('keeps an AMI that only a remaining version of a template out of scope still uses', async () => {
    const s = sim.seed({
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

  it('keeps AMIs used by instances or protected, and terminates only true orphans', async () => {
    const s = sim.seed({
      images: ['base', 'x0', 'x1', 'x2', 'x3'].map((name) => ({ name })),
      launchTemplates: [
        {
          name: 'lt-web',
          versions: [{ imageName: 'base', description: 'initial' }, ...ours('x0', 'x1', 'x2', 'x3')],
        },
      ],
      groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 1 }],
    });
    const [x0, x1, x2] = await Promise.all(
      ['x0', 'x1', 'x2', 'x3'].map((n, i) => markOurs(s, n, { templates: ['lt-web'], age: 500 - 100 * i })),
    );
    await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: x0 }));
    const launch = async (imageId: string | undefined, tags: Record<string, string>): Promise<string> => {
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: imageId,
          MinCount: 1,
          MaxCount: 1,
          SubnetId: 'subnet-0aaaa000000000001',
          TagSpecifications: [
            { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          ],
        }),
      );
      return out.Instances?.[0]?.InstanceId ?? '';
    };
    const users = await launch(x1, { Name: 'someone-elses' });
    const temp = (runId: string, age: number, groups = 'web'): Record<string, string> => ({
      [Tags.Managed]: 'true',
      [Tags.Role]: Roles.TemporaryInstance,
      [Tags.RunId]: runId,
      [Tags.Groups]: groups,
      [Tags.CreatedAt]: minutesAgo(age),
    });
    const orphan = await launch(s.images.base ?? '', temp('run-old', 420));
    const mine = await launch(s.images.base ?? '', temp(RUN, 420));
    const young = await launch(s.images.base ?? '', temp('run-busy', 30));
    const elsewhere = await launch(s.images.base ?? '', temp('run-old', 420, 'api'));

    const report = await cycle({ selection: { names: ['web'], tags: [] } });

    expect(ids(report, 'instance')).toEqual([orphan]);
    expect(ids(report, 'ami')).toEqual([x2]);
    expect(kept(report, x0)).toBe('deregistration protection is on');
    expect(kept(report, x1)).toBe(`used by instance ${users} (running)`);
    const states = new Map<string, string>();
    for await (const page of paginateDescribeInstances({ client: ec2 }, {})) {
      for (const r of page.Reservations ?? [])
        for (const i of r.Instances ?? []) states.set(i.InstanceId ?? '', i.State?.Name ?? '');
    }
    expect(['shutting-down', 'terminated']).toContain(states.get(orphan));
    for (const id of [users, mine, young, elsewhere]) expect(states.get(id)).toBe('running');
  });

  it('keeps the default version and versions referenced by $Latest, $Default and number, by any group', async () => {
    const names = ['c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
    const s = sim.seed({
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
    const s = sim.seed({
      images: ['base', 'manual', 'foreign', 'gone', 'd3'].map((name) => ({ name })),
      launchTemplates: [
        { name: 'lt-web', versions: [{ imageName: 'base', description: 'initial' }, ...ours('gone', 'd3')] },
        { name: 'lt-other', versions: [{ imageName: 'base', description: 'initial' }] },
      ],
      groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 1 }],
    });
    const web = s.launchTemplates['lt-web'];
    sim.state.images.get(s.images.manual ?? '')!.CreationDate = minutesAgo(10_000);
    const foreign = await markOurs(s, 'foreign', { templates: ['lt-other'], groups: ['api'], age: 9000 });
    await markOurs(s, 'gone', { templates: ['lt-web'], age: 800 });
    await markOurs(s, 'd3', { templates: ['lt-web'], age: 700 });
    await ec2.send(new DeregisterImageCommand({ ImageId: s.images.gone }));

    const report = await cycle({ selection: { names: ['web'], tags: [] } });

    expect(ids(report, 'launch-template-version')).toEqual([`${web}:2`]);
    expect(ids(report, 'ami')).toEqual([]);
    const left = await existingImages(ec2);
    for (const id of [s.images.manual, foreign, s.images.base, s.images.d3])
      expect(left.has(id ?? '')).toBe(true);
    expect(report.kept.some((k) => k.id === s.images.manual || k.id === foreign)).toBe(false);
  });

  it('keeps an AMI only a launch configuration of a group outside the selection uses', async () => {
    const s = sim.seed({
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
    expect(sim.calls.some((c) => c.action === 'DescribeLaunchConfigurations')).toBe(true);
  });

  it('deletes a snapshot of ours whose AMI is gone, once it is older than orphan-age', async () => {
    const s = sim.seed({
      images: ['base', 'o1', 'o2', 'o3', 'o4'].map((name) => ({ name })),
      launchTemplates: [{ name: 'lt-web', versions: [{ imageName: 'base', description: 'initial' }] }],
      groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 1 }],
    });
    const lt = s.launchTemplates['lt-web'] ?? '';
    /** An AMI's snapshot as CreateImage tags it; then the AMI is deregistered, the snapshot left. */
    const orphan = async (
      image: string,
      runId: string,
      ageMinutes: number,
      templates = lt,
    ): Promise<string> => {
      const imageId = s.images[image] ?? '';
      const snapshotId = sim.state.images.get(imageId)?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
      await ec2.send(
        new CreateTagsCommand({
          Resources: [snapshotId],
          Tags: [
            { Key: Tags.Managed, Value: 'true' },
            { Key: Tags.Role, Value: Roles.Ami },
            { Key: Tags.RunId, Value: runId },
            { Key: Tags.LaunchTemplates, Value: templates },
          ],
        }),
      );
      sim.state.snapshots.get(snapshotId)!.StartTime = new Date(Date.now() - ageMinutes * 60_000);
      await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
      return snapshotId;
    };
    const old = await orphan('o1', 'run-old', 500);
    const mine = await orphan('o2', RUN, 500);
    const young = await orphan('o3', 'run-old', 30);
    const elsewhere = await orphan('o4', 'run-old', 500, 'lt-0other00000000000');

    const report = await cycle({ selection: { names: ['web'], tags: [] } });

    expect(ids(report, 'snapshot')).toEqual([old]);
    expect(report.deleted.find((d) => d.id === old)?.reason).toBe(`its AMI ${s.images.o1} is gone`);
    const left = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    const leftIds = new Set(left.Snapshots?.map((snap) => snap.SnapshotId));
    expect(leftIds.has(old)).toBe(false);
    for (const id of [mine, young, elsewhere]) expect(leftIds.has(id)).toBe(true);
  });

  it('deletes 450 old versions in calls of at most 200', async () => {
    const s = sim.seed({
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

    sim.clearCalls();
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
    const s = sim.seed({
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
    sim.clearCalls();
    const report = await runCleanup(
      { selection: { names: ['web'], tags: [] }, keep: 5, orphanAgeMinutes: 360, dryRun: false, runId: RUN },
      runtime({ ec2, autoScaling }),
    );
    const batches = sim.calls
      .filter((c) => c.action === 'DeleteLaunchTemplateVersions')
      .map((c) => (c.params.Versions as unknown[] | undefined)?.length ?? 0);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...batches)).toBeLessThanOrEqual(200);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(444);
    expect(report.deleted).toHaveLength(444);
    // Version 1 is the default, 446..450 the newest five.
    expect(report.failures).toEqual([]);
  });
});
