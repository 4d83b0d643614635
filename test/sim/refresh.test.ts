import {
  CancelInstanceRefreshCommand,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  RollbackInstanceRefreshCommand,
  StartInstanceRefreshCommand,
  type InstanceRefresh,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type SeedResult, type Simulator } from './index.js';
import { clients, rejection, waitFor } from './testkit.js';

let sim: Simulator;
let ec2: ReturnType<typeof clients>['ec2'];
let asg: ReturnType<typeof clients>['asg'];
let seeded: SeedResult;

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.0001 });
  ({ ec2, asg } = clients(sim));
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await sim.reset();
  seeded = sim.seed({
    ...buildFixture({ groups: 2, instancesPerGroup: 4, images: 2, mixedInstancesPolicy: 2 }),
    images: [{ name: 'shop-base-0' }, { name: 'shop-base-1' }, { name: 'shop-new' }],
  });
});

/** A new version of the group's template with the new image, as the action makes it. */
async function newVersion(group = 'shop-asg-0'): Promise<{ id: string; version: string }> {
  const lt = `shop-lt-${group.split('-').pop()}`;
  const res = await ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateName: lt,
      SourceVersion: '1',
      LaunchTemplateData: { ImageId: seeded.images['shop-new'] },
    }),
  );
  return {
    id: res.LaunchTemplateVersion?.LaunchTemplateId ?? '',
    version: String(res.LaunchTemplateVersion?.VersionNumber),
  };
}

async function refreshOf(group: string, id: string): Promise<InstanceRefresh | undefined> {
  const res = await asg.send(
    new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group, InstanceRefreshIds: [id] }),
  );
  return res.InstanceRefreshes?.[0];
}

/** Polls the refresh, collecting every status seen, until it reaches one of `until`. */
async function follow(
  group: string,
  id: string,
  until: string[],
): Promise<{ last: InstanceRefresh; statuses: string[]; percents: number[] }> {
  const statuses: string[] = [];
  const percents: number[] = [];
  const last = await waitFor(
    async () => {
      const r = await refreshOf(group, id);
      if (r?.Status && statuses.at(-1) !== r.Status) statuses.push(r.Status);
      if (r?.PercentageComplete !== undefined && percents.at(-1) !== r.PercentageComplete)
        percents.push(r.PercentageComplete);
      return r && until.includes(r.Status ?? '') ? r : undefined;
    },
    20_000,
    2,
  );
  return { last, statuses, percents };
}

const groupOf = async (name: string) =>
  (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] })))
    .AutoScalingGroups?.[0];

describe('instance refresh', () => {
  it('Pending → InProgress → Baking → Successful, replacing every instance and adopting the desired config', async () => {
    sim.setLatency({ transitions: { refreshPending: 300_000 } }); // 30 ms real: Pending is observable
    const before = (await groupOf('shop-asg-0'))?.Instances?.map((i) => i.InstanceId);
    const { id, version } = await newVersion();
    const start = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-0',
        Strategy: 'Rolling',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: id, Version: version } },
        Preferences: {
          MinHealthyPercentage: 75,
          InstanceWarmup: 60,
          BakeTime: 300,
          SkipMatching: true,
          AutoRollback: true,
        },
      }),
    );
    const refreshId = start.InstanceRefreshId ?? '';
    expect((await refreshOf('shop-asg-0', refreshId))?.Status).toBe('Pending');
    const { last, statuses, percents } = await follow('shop-asg-0', refreshId, ['Successful', 'Failed']);
    expect(statuses).toEqual(['Pending', 'InProgress', 'Baking', 'Successful']);
    expect(percents.length).toBeGreaterThanOrEqual(3); // 0, 25, 50, 75, 100 as batches of 1 finish
    expect(last).toMatchObject({ PercentageComplete: 100, InstancesToUpdate: 0 });
    expect(last.EndTime).toBeInstanceOf(Date);
    const group = await groupOf('shop-asg-0');
    expect(group?.LaunchTemplate).toEqual({ LaunchTemplateId: id, Version: version });
    await waitFor(async () => (await groupOf('shop-asg-0'))?.Instances?.length === 4);
    const after = (await groupOf('shop-asg-0'))?.Instances ?? [];
    expect(after.some((i) => before?.includes(i.InstanceId))).toBe(false);
    expect(after.every((i) => i.LaunchTemplate?.Version === version)).toBe(true);
    const ec2View = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:aws:autoscaling:groupName', Values: ['shop-asg-0'] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
      }),
    );
    expect(
      ec2View.Reservations?.flatMap((r) => r.Instances).every(
        (i) => i?.ImageId === seeded.images['shop-new'],
      ),
    ).toBe(true);
  });

  it('only one active refresh per group; SkipMatching with nothing to replace succeeds at once', async () => {
    const first = await asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' }));
    const busy = await rejection(
      asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' })),
    );
    expect(busy.name).toBe('InstanceRefreshInProgressFault');
    await follow('shop-asg-0', first.InstanceRefreshId ?? '', ['Successful']);
    const skip = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-0',
        Preferences: { SkipMatching: true },
      }),
    );
    const { last } = await follow('shop-asg-0', skip.InstanceRefreshId ?? '', ['Successful']);
    expect(last.PercentageComplete).toBe(100);
    const all = await asg.send(
      new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'shop-asg-0', MaxRecords: 1 }),
    );
    expect(all.InstanceRefreshes?.[0]?.InstanceRefreshId).toBe(skip.InstanceRefreshId);
    expect(all.NextToken).toBeTruthy();
  });

  it('works for a MixedInstancesPolicy group and updates its launch template specification', async () => {
    const { id, version } = await newVersion('shop-asg-1');
    const spec = { LaunchTemplateSpecification: { LaunchTemplateId: id, Version: version } };
    const start = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-1',
        DesiredConfiguration: { MixedInstancesPolicy: { LaunchTemplate: spec } },
      }),
    );
    await follow('shop-asg-1', start.InstanceRefreshId ?? '', ['Successful']);
    // shop-asg-1 is not a MixedInstancesPolicy group in this fixture (every 2nd from 0 is), but takes the policy.
    expect(
      (await groupOf('shop-asg-1'))?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification,
    ).toEqual(spec.LaunchTemplateSpecification);
    expect(
      (await groupOf('shop-asg-0'))?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification
        ?.LaunchTemplateName,
    ).toBe('shop-lt-0');
  });

  it('a failure with AutoRollback goes RollbackInProgress → RollbackSuccessful with instances back on the old config', async () => {
    sim.faults.add({ kind: 'refresh', group: 'shop-asg-0', outcome: 'RollbackSuccessful', atPercent: 50 });
    const { id, version } = await newVersion();
    const start = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-0',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: id, Version: version } },
        Preferences: { MinHealthyPercentage: 75, AutoRollback: true },
      }),
    );
    const { last, statuses } = await follow('shop-asg-0', start.InstanceRefreshId ?? '', [
      'RollbackSuccessful',
      'Failed',
      'Successful',
    ]);
    expect(statuses).toContain('RollbackInProgress');
    expect(last.Status).toBe('RollbackSuccessful');
    expect(last.RollbackDetails?.RollbackReason).toBeTruthy();
    const group = await groupOf('shop-asg-0');
    expect(group?.LaunchTemplate).toBeUndefined(); // still the MixedInstancesPolicy it had
    await waitFor(async () =>
      (await groupOf('shop-asg-0'))?.Instances?.every(
        (i) => i.LaunchTemplate?.Version === '1' && i.LifecycleState === 'InService',
      ),
    );
  });

  it('a failure without AutoRollback ends Failed; an unavailable desired image fails the refresh', async () => {
    sim.faults.add({ kind: 'refresh', group: 'shop-asg-1', outcome: 'Failed' });
    const one = await asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-1' }));
    expect(
      (await follow('shop-asg-1', one.InstanceRefreshId ?? '', ['Failed', 'Successful'])).last.Status,
    ).toBe('Failed');
    const res = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateName: 'shop-lt-0',
        SourceVersion: '1',
        LaunchTemplateData: { ImageId: 'ami-0deadbeef0000000' },
      }),
    );
    const two = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-0',
        DesiredConfiguration: {
          LaunchTemplate: {
            LaunchTemplateName: 'shop-lt-0',
            Version: String(res.LaunchTemplateVersion?.VersionNumber),
          },
        },
      }),
    );
    const { last } = await follow('shop-asg-0', two.InstanceRefreshId ?? '', ['Failed', 'Successful']);
    expect(last.Status).toBe('Failed');
    expect(last.StatusReason).toContain('does not exist');
  });

  it('cancel: Cancelling → Cancelled; rollback on request; errors without an active refresh', async () => {
    // 300 ms real per batch, 30 ms to cancel: every state is observable.
    sim.setLatency({ transitions: { refreshDefaultWarmup: 3_000_000, refreshCancel: 300_000 } });
    const { id, version } = await newVersion();
    const a = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-0',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: id, Version: version } },
      }),
    );
    await follow('shop-asg-0', a.InstanceRefreshId ?? '', ['InProgress']);
    await asg.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' }));
    expect((await refreshOf('shop-asg-0', a.InstanceRefreshId ?? ''))?.Status).toBe('Cancelling');
    await follow('shop-asg-0', a.InstanceRefreshId ?? '', ['Cancelled']);
    const none = await rejection(
      asg.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' })),
    );
    expect(none.name).toBe('ActiveInstanceRefreshNotFoundFault');

    const b = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-0',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: id, Version: version } },
      }),
    );
    await follow('shop-asg-0', b.InstanceRefreshId ?? '', ['InProgress']);
    sim.setLatency({ transitions: { refreshDefaultWarmup: 30_000 } });
    await asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' }));
    expect(
      (await follow('shop-asg-0', b.InstanceRefreshId ?? '', ['RollbackSuccessful'])).last.RollbackDetails
        ?.RollbackReason,
    ).toBe('Rollback started by user');
    const noneToRollBack = await rejection(
      asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' })),
    );
    expect(noneToRollBack.name).toBe('ActiveInstanceRefreshNotFoundFault');
  });

  it('checkpoints pause the refresh for CheckpointDelay', async () => {
    const start = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-1',
        Preferences: { MinHealthyPercentage: 50, CheckpointPercentages: [50, 100], CheckpointDelay: 1000 },
      }),
    );
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const r = await refreshOf('shop-asg-1', start.InstanceRefreshId ?? '');
        if (r?.StatusReason) seen.add(r.StatusReason);
        return r?.Status === 'Successful';
      },
      20_000,
      2,
    );
    expect([...seen]).toContain('Waiting for checkpoint at 50%');
  });

  it('validation: unknown group, bad preferences; Create/DeleteAutoScalingGroup fixtures', async () => {
    expect(
      (await rejection(asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'nope' })))).name,
    ).toBe('ValidationError');
    const bad = await rejection(
      asg.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: 'shop-asg-0',
          Preferences: { MinHealthyPercentage: 120 },
        }),
      ),
    );
    expect(bad.name).toBe('ValidationError');
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'extra',
        LaunchTemplate: { LaunchTemplateName: 'shop-lt-0', Version: '$Latest' },
        MinSize: 1,
        MaxSize: 3,
        DesiredCapacity: 2,
        VPCZoneIdentifier: 'subnet-0aaaa000000000001',
        Tags: [{ Key: 'app', Value: 'extra', PropagateAtLaunch: true }],
      }),
    );
    expect((await groupOf('extra'))?.Instances?.map((i) => i.LifecycleState)).toEqual(['Pending', 'Pending']);
    await waitFor(async () =>
      (await groupOf('extra'))?.Instances?.every((i) => i.LifecycleState === 'InService'),
    );
    const dup = await rejection(
      asg.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'extra',
          MinSize: 0,
          MaxSize: 1,
          LaunchTemplate: { LaunchTemplateName: 'shop-lt-0' },
        }),
      ),
    );
    expect(dup.name).toBe('AlreadyExistsFault');
    expect(
      (await rejection(asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'extra' })))).name,
    ).toBe('ResourceInUseFault');
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'extra', ForceDelete: true }));
    expect(await groupOf('extra')).toBeUndefined();
    sim.seed({ groups: [{ name: 'legacy', launchConfigurationName: 'old-lc', desiredCapacity: 1 }] });
    expect((await groupOf('legacy'))?.LaunchConfigurationName).toBe('old-lc');
  });
});
