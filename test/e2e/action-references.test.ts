/**
 * How the built action leaves each group's launch template reference after a deploy: a refresh's
 * desired configuration names our version by number and AWS saves it on the group, so groups that
 * followed `$Default` or `$Latest` must be set back to it, and a numeric group names the new number.
 */
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from '../sim/index.js';
import { errors, output, TimeScale, transcript, useFleet, type RefreshOutput } from '../helpers/fleet.js';

const tags = { app: 'shop' };
/**
 * ref-default and ref-number share lt-a version 1 (one new version 2 for both); ref-latest follows
 * $Latest of lt-b; the mixed groups name lt-c and lt-d inside a MixedInstancesPolicy.
 */
const references: Fixture = {
  images: [{ name: 'base-a' }, { name: 'base-b' }, { name: 'base-c' }, { name: 'base-d' }],
  launchTemplates: [
    { name: 'lt-a', versions: [{ imageName: 'base-a' }] },
    { name: 'lt-b', versions: [{ imageName: 'base-b' }] },
    { name: 'lt-c', versions: [{ imageName: 'base-c' }] },
    { name: 'lt-d', versions: [{ imageName: 'base-d' }] },
  ],
  groups: [
    { name: 'ref-default', launchTemplate: { name: 'lt-a', version: '$Default' }, tags },
    { name: 'ref-number', launchTemplate: { name: 'lt-a', version: '1' }, tags },
    { name: 'ref-latest', launchTemplate: { name: 'lt-b', version: '$Latest' }, tags },
    {
      name: 'mixed-latest',
      launchTemplate: { name: 'lt-c', version: '$Latest' },
      mixedInstancesPolicy: true,
      tags,
    },
    {
      name: 'mixed-default',
      launchTemplate: { name: 'lt-d', version: '$Default' },
      mixedInstancesPolicy: true,
      tags,
    },
  ],
};
const Groups = references.groups?.map((g) => g.name) ?? [];

const fleet = useFleet({
  seed: references,
  beforeSeed: (sim) => sim.setLatency({ override: () => undefined }),
});
let autoScaling: AutoScalingClient;
let ec2: EC2Client;
beforeAll(async () => {
  autoScaling = new AutoScalingClient({ ...fleet().sim.clientConfig(), maxAttempts: 3 });
  ec2 = new EC2Client({ ...fleet().sim.clientConfig(), maxAttempts: 3 });
});
afterAll(async () => {
  autoScaling?.destroy();
  ec2?.destroy();
});

async function describeGroups(): Promise<Map<string, AutoScalingGroup>> {
  const result = await autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: Groups }),
  );
  return new Map((result.AutoScalingGroups ?? []).map((g) => [g.AutoScalingGroupName ?? '', g]));
}

async function templateNumbers(name: string): Promise<{ default?: number; latest?: number }> {
  const id = fleet.seeded().launchTemplates[name] ?? '';
  const result = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }));
  const template = result.LaunchTemplates?.[0];
  return { default: template?.DefaultVersionNumber, latest: template?.LatestVersionNumber };
}

/** The spec the group launches from, whether its own or its MixedInstancesPolicy's. */
const specOf = (group: AutoScalingGroup | undefined) =>
  group?.LaunchTemplate ?? group?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;

const updates = (group: string) =>
  fleet().sim.calls.filter(
    (c) =>
      c.action === 'UpdateAutoScalingGroup' && c.outcome === 'ok' && c.params.AutoScalingGroupName === group,
  );

describe('launch template references after a deploy', () => {
  it('$Default and $Latest groups follow them again; a numeric group names the new number', async () => {
    const before = await describeGroups();
    const main = await fleet().main(fleet().inputs({ upload: 'build' }));
    expect(main.exitCode, transcript(main)).toBe(0);
    expect(errors(main)).toEqual([]);
    expect(output<RefreshOutput[]>(main, 'instance-refreshes').map((r) => r.status)).toEqual(
      Groups.map(() => 'Successful'),
    );

    const after = await describeGroups();
    const versionOf = (group: string): string | undefined => specOf(after.get(group))?.Version;
    expect(Object.fromEntries(Groups.map((g) => [g, versionOf(g)]))).toEqual({
      'ref-default': '$Default',
      'ref-number': '2',
      'ref-latest': '$Latest',
      'mixed-latest': '$Latest',
      'mixed-default': '$Default',
    });
    // Each reference resolves to the version the refresh rolled out.
    expect(await templateNumbers('lt-a')).toEqual({ default: 2, latest: 2 });
    expect((await templateNumbers('lt-b')).latest).toBe(2);
    expect((await templateNumbers('lt-c')).latest).toBe(2);
    expect((await templateNumbers('lt-d')).default).toBe(2);

    // The mixed groups keep every other part of their policy.
    for (const group of ['mixed-latest', 'mixed-default']) {
      const was = before.get(group)?.MixedInstancesPolicy;
      const now = after.get(group)?.MixedInstancesPolicy;
      expect(after.get(group)?.LaunchTemplate).toBeUndefined();
      expect(now?.LaunchTemplate?.Overrides).toEqual(was?.LaunchTemplate?.Overrides);
      expect(now?.InstancesDistribution).toEqual(was?.InstancesDistribution);
    }

    // One update for each group that followed a symbolic version, none for the numeric one, and the
    // $Default group's only after its version became the default.
    expect(Groups.map((g) => updates(g).length)).toEqual([1, 0, 1, 1, 1]);
    const promoted = fleet().sim.calls.find(
      (c) =>
        c.action === 'ModifyLaunchTemplate' &&
        c.params.DryRun !== true &&
        c.params.LaunchTemplateId === fleet.seeded().launchTemplates['lt-a'],
    );
    expect(promoted?.seq).toBeLessThan(updates('ref-default')[0]?.seq ?? -1);

    // Setting the reference back replaced no instance: every member is one the refresh launched.
    for (const group of Groups) {
      const members = (after.get(group)?.Instances ?? []).filter((i) => i.LifecycleState !== 'Terminated');
      expect(members.map((m) => m.LaunchTemplate?.Version)).toEqual(['2', '2']);
    }
    expect(main.annotations.filter((a) => a.message.includes('by number'))).toEqual([]);
  }, 180_000);

  it('a $Latest group keeps the number, with a warning, when a newer version appeared during its refresh', async () => {
    // ref-latest's refresh stays Pending for 2 real seconds (simulated ms × TimeScale): time to
    // make another version before it can succeed.
    fleet().sim.setLatency({
      override: (key, ctx) =>
        key === 'refreshPending' && ctx.groupName === 'ref-latest' ? 2000 / TimeScale : undefined,
    });
    const run = fleet().start(fleet().inputs({ upload: 'build' }));
    let ended = false;
    void run.done.finally(() => (ended = true));
    const started = (): boolean =>
      [...fleet().sim.state.refreshes.values()].some((r) => r.refresh.AutoScalingGroupName === 'ref-latest');
    while (!started() && !ended) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ended, 'the step ended before the refresh of ref-latest started').toBe(false);
    await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: fleet.seeded().launchTemplates['lt-b'],
        SourceVersion: '1',
        VersionDescription: 'someone else',
        LaunchTemplateData: { InstanceType: 't3.small' },
      }),
    );
    const main = await run.done;
    expect(main.exitCode, transcript(main)).toBe(0);
    expect(errors(main)).toEqual([]);

    const after = await describeGroups();
    expect(specOf(after.get('ref-latest'))?.Version).toBe('2');
    expect(updates('ref-latest')).toEqual([]);
    expect((await templateNumbers('lt-b')).latest).toBe(3);
    const warning = main.annotations.find(
      (a) => a.level === 'warning' && a.message.includes('a newer version (3)'),
    );
    expect(warning?.message, transcript(main)).toContain('version 2 by number, not $Latest');
    // The other groups are set back as usual.
    expect(specOf(after.get('ref-default'))?.Version).toBe('$Default');
    expect(specOf(after.get('mixed-latest'))?.Version).toBe('$Latest');
  }, 180_000);

  it('a template deleted after its refresh leaves that group on its number and the others restored', async () => {
    // ref-latest stays Pending for 2 real seconds; mixed-latest ends first, then lt-c is deleted,
    // so the one read of every template after the refreshes meets a missing id, which AWS answers
    // by failing the whole call (DescribeLaunchTemplates, InvalidLaunchTemplateId.NotFound).
    fleet().sim.setLatency({
      override: (key, ctx) =>
        key === 'refreshPending' && ctx.groupName === 'ref-latest' ? 2000 / TimeScale : undefined,
    });
    const run = fleet().start(fleet().inputs({ upload: 'build' }));
    let ended = false;
    void run.done.finally(() => (ended = true));
    const refreshOf = (group: string) =>
      [...fleet().sim.state.refreshes.values()].find((r) => r.refresh.AutoScalingGroupName === group)
        ?.refresh;
    while (refreshOf('mixed-latest')?.Status !== 'Successful' && !ended)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(refreshOf('ref-latest')?.Status, 'ref-latest ended before lt-c was deleted').not.toBe(
      'Successful',
    );
    const lostTemplate = fleet.seeded().launchTemplates['lt-c'] ?? '';
    await ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: lostTemplate }));
    const main = await run.done;
    expect(main.exitCode, transcript(main)).toBe(0);
    expect(errors(main)).toEqual([]);

    const after = await describeGroups();
    expect(specOf(after.get('mixed-latest'))?.Version).toBe('2');
    const warning = main.annotations.find((a) => a.level === 'warning' && a.message.includes('is gone'));
    expect(warning?.message, transcript(main)).toContain(`launch template ${lostTemplate} is gone`);
    expect(
      Object.fromEntries(
        ['ref-default', 'ref-latest', 'mixed-default'].map((g) => [g, specOf(after.get(g))?.Version]),
      ),
    ).toEqual({
      'ref-default': '$Default',
      'ref-latest': '$Latest',
      'mixed-default': '$Default',
    });
    // AWS failed a read for the missing id, and the action went on without it.
    expect(
      fleet().sim.calls.some(
        (c) => c.action === 'DescribeLaunchTemplates' && c.code === 'InvalidLaunchTemplateId.NotFound',
      ),
    ).toBe(true);
  }, 180_000);

  it('a failed roll of a $Latest group makes $Latest launch the old image again', async () => {
    fleet().sim.faults.add({ kind: 'refresh', group: 'ref-latest', outcome: 'Failed', atPercent: 50 });
    const main = await fleet().main(fleet().inputs({ upload: 'build' }));
    expect(main.exitCode, transcript(main)).not.toBe(0);
    expect(errors(main).some((e) => e.startsWith('[ref-latest] ') && e.includes('ended Failed'))).toBe(true);

    // Version 2 (the new AMI) moved $Latest at once; version 3 copies version 1 back on top.
    const record = fleet().sim.state.templateByName('lt-b');
    const latest = record?.versions.get(3);
    expect(record?.template.LatestVersionNumber).toBe(3);
    expect(latest?.LaunchTemplateData?.ImageId).toBe(fleet.seeded().images['base-b']);
    expect(latest?.LaunchTemplateData).toEqual(record?.versions.get(1)?.LaunchTemplateData);
    expect(latest?.VersionDescription).toMatch(/^asg-rolling run \S+ revert$/);
    const warning = main.annotations.find(
      (a) => a.level === 'warning' && a.message.includes('created version 3'),
    );
    expect(warning?.message, transcript(main)).toContain('so $Latest launches the old image again');
    // A failed refresh leaves the group as it was: it still follows $Latest, now the old image.
    expect(specOf((await describeGroups()).get('ref-latest'))?.Version).toBe('$Latest');
    // The other $Latest groups succeeded and follow $Latest of their own templates as usual.
    expect(specOf((await describeGroups()).get('mixed-latest'))?.Version).toBe('$Latest');
  }, 180_000);
});
