// Instance Refresh, the forward path: Pending → InProgress → Baking → Successful, one active refresh per
// group, checkpoints, and StartInstanceRefresh validation. Intermediate states are asserted on a held
// clock, so each is there however long the machine takes to answer.
import {
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';

import { refreshWorld } from './refresh-kit.js';
import { rejection } from './testkit.js';

const t = refreshWorld();

describe('instance refresh', () => {
  it('Pending → InProgress → Baking → Successful, replacing every instance and adopting the desired config', async () => {
    const { sim, asg, ec2, seeded } = t;
    // Defaults: 15 s Pending; a batch takes launch (30 s) + InstanceWarmup (60 s); old ones shut down in 20 s.
    sim.clock.hold();
    const before = (await t.groupOf('shop-asg-0'))?.Instances?.map((i) => i.InstanceId) ?? [];
    expect(before).toHaveLength(4);
    const { id, version } = await t.newVersion();
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
    const now = () => t.refreshOf('shop-asg-0', refreshId);
    expect(await now()).toMatchObject({ Status: 'Pending', PercentageComplete: 0 });
    await sim.clock.advance(14_999);
    expect((await now())?.Status).toBe('Pending');
    await sim.clock.advance(1);
    expect(await now()).toMatchObject({ Status: 'InProgress', PercentageComplete: 0, InstancesToUpdate: 4 });
    // MinHealthyPercentage 75 of 4: one instance per batch.
    for (const percent of [25, 50, 75]) {
      await sim.clock.advance(90_000);
      expect(await now()).toMatchObject({ Status: 'InProgress', PercentageComplete: percent });
    }
    await sim.clock.advance(90_000);
    expect(await now()).toMatchObject({ Status: 'Baking', PercentageComplete: 100, InstancesToUpdate: 0 });
    expect((await t.groupOf('shop-asg-0'))?.MixedInstancesPolicy).toBeDefined(); // not adopted while baking
    await sim.clock.advance(299_999);
    expect((await now())?.Status).toBe('Baking');
    await sim.clock.advance(1);
    const last = await now();
    expect(last).toMatchObject({ Status: 'Successful', PercentageComplete: 100, InstancesToUpdate: 0 });
    expect(last?.EndTime).toBeInstanceOf(Date);

    const group = await t.groupOf('shop-asg-0');
    expect(group?.LaunchTemplate).toEqual({ LaunchTemplateId: id, Version: version });
    expect(group?.MixedInstancesPolicy).toBeUndefined();
    const after = group?.Instances ?? [];
    expect(after).toHaveLength(4);
    expect(after.some((i) => before.includes(i.InstanceId))).toBe(false);
    expect(
      after.every((i) => i.LaunchTemplate?.Version === version && i.LifecycleState === 'InService'),
    ).toBe(true);
    const ec2View = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:aws:autoscaling:groupName', Values: ['shop-asg-0'] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
      }),
    );
    const running = ec2View.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    expect(running.map((i) => i.InstanceId).sort()).toEqual(after.map((i) => i.InstanceId).sort());
    expect(running.every((i) => i.ImageId === seeded.images['shop-new'])).toBe(true);
  });

  it('only one active refresh per group; SkipMatching with nothing to replace succeeds at once', async () => {
    const { sim, asg } = t;
    sim.clock.hold();
    const first = await asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' }));
    const busy = await rejection(
      asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' })),
    );
    expect(busy.name).toBe('InstanceRefreshInProgressFault');
    expect((await t.settle('shop-asg-0', first.InstanceRefreshId ?? '')).Status).toBe('Successful');
    const skip = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-0',
        Preferences: { SkipMatching: true },
      }),
    );
    const skipId = skip.InstanceRefreshId ?? '';
    expect((await t.refreshOf('shop-asg-0', skipId))?.Status).toBe('Pending');
    const launched = sim.state.instances.size;
    await sim.clock.advance(15_000); // the end of Pending: nothing to replace, no batch to wait for
    expect(await t.refreshOf('shop-asg-0', skipId)).toMatchObject({
      Status: 'Successful',
      PercentageComplete: 100,
    });
    expect(sim.state.instances.size).toBe(launched);
    const all = await asg.send(
      new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'shop-asg-0', MaxRecords: 1 }),
    );
    expect(all.InstanceRefreshes?.map((r) => r.InstanceRefreshId)).toEqual([skipId]);
    expect(all.NextToken).toBeTruthy();
  });

  it('works for a MixedInstancesPolicy group and updates its launch template specification', async () => {
    // On the running clock (scaled real time), waiting only for the end.
    const { asg } = t;
    const { id, version } = await t.newVersion('shop-asg-1');
    const spec = { LaunchTemplateSpecification: { LaunchTemplateId: id, Version: version } };
    const start = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-1',
        DesiredConfiguration: { MixedInstancesPolicy: { LaunchTemplate: spec } },
      }),
    );
    expect((await t.ending('shop-asg-1', start.InstanceRefreshId ?? '')).Status).toBe('Successful');
    // shop-asg-1 is not a MixedInstancesPolicy group in this fixture (every 2nd from 0 is), but takes the policy.
    expect(
      (await t.groupOf('shop-asg-1'))?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification,
    ).toEqual(spec.LaunchTemplateSpecification);
    expect(
      (await t.groupOf('shop-asg-0'))?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification
        ?.LaunchTemplateName,
    ).toBe('shop-lt-0');
  });

  it('checkpoints pause the refresh for CheckpointDelay', async () => {
    const { sim, asg } = t;
    sim.clock.hold();
    const start = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-1',
        Preferences: { MinHealthyPercentage: 50, CheckpointPercentages: [50, 100], CheckpointDelay: 1000 },
      }),
    );
    const now = () => t.refreshOf('shop-asg-1', start.InstanceRefreshId ?? '');
    // 15 s Pending, then the first batch (2 of 4) takes launch 30 s + the default warmup 300 s.
    await sim.clock.advance(15_000 + 330_000);
    expect(await now()).toMatchObject({
      Status: 'InProgress',
      PercentageComplete: 50,
      StatusReason: 'Waiting for checkpoint at 50%',
    });
    const launched = sim.state.instances.size;
    await sim.clock.advance(1_000_000 - 1);
    expect(await now()).toMatchObject({
      PercentageComplete: 50,
      StatusReason: 'Waiting for checkpoint at 50%',
    });
    expect(sim.state.instances.size).toBe(launched); // nothing launched during the pause
    await sim.clock.advance(1);
    const resumed = await now();
    expect(resumed).toMatchObject({ Status: 'InProgress', PercentageComplete: 50 });
    expect(resumed?.StatusReason).toBeUndefined();
    expect(sim.state.instances.size).toBe(launched + 2); // the second batch
    await sim.clock.advance(330_000);
    expect(await now()).toMatchObject({ Status: 'Successful', PercentageComplete: 100 });
  });

  it('validation: unknown group, bad preferences; Create/DeleteAutoScalingGroup fixtures', async () => {
    const { sim, asg } = t;
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
    sim.clock.hold();
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
    const states = async () => (await t.groupOf('extra'))?.Instances?.map((i) => i.LifecycleState);
    expect(await states()).toEqual(['Pending', 'Pending']);
    await sim.clock.advance(29_999);
    expect(await states()).toEqual(['Pending', 'Pending']);
    await sim.clock.advance(1); // instancePending: 30 s
    expect(await states()).toEqual(['InService', 'InService']);
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
    expect(await t.groupOf('extra')).toBeUndefined();
    sim.seed({ groups: [{ name: 'legacy', launchConfigurationName: 'old-lc', desiredCapacity: 1 }] });
    expect((await t.groupOf('legacy'))?.LaunchConfigurationName).toBe('old-lc');
  });
});
