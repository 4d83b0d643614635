// Instance Refresh, the other ends: a failure with AutoRollback (RollbackInProgress → RollbackSuccessful),
// a failure without it, cancelling (Cancelling → Cancelled) and a rollback on request. Intermediate
// states are asserted on a held clock.
import {
  CancelInstanceRefreshCommand,
  RollbackInstanceRefreshCommand,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';

import { refreshWorld } from './refresh-kit.js';
import { advanceUntil, rejection } from './testkit.js';

const t = refreshWorld();

describe('instance refresh failures, cancel and rollback', () => {
  it('a failure with AutoRollback goes RollbackInProgress → RollbackSuccessful with instances back on the old config', async () => {
    const { sim, asg } = t;
    sim.clock.hold();
    sim.faults.add({ kind: 'refresh', group: 'shop-asg-0', outcome: 'RollbackSuccessful', atPercent: 50 });
    const { id, version } = await t.newVersion();
    const start = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-0',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: id, Version: version } },
        Preferences: { MinHealthyPercentage: 75, AutoRollback: true },
      }),
    );
    const now = () => t.refreshOf('shop-asg-0', start.InstanceRefreshId ?? '');
    // 15 s Pending, then batches of one taking launch 30 s + the default warmup 300 s.
    await sim.clock.advance(15_000 + 330_000);
    expect(await now()).toMatchObject({ Status: 'InProgress', PercentageComplete: 25 });
    await sim.clock.advance(330_000);
    const rolling = await now();
    expect(rolling).toMatchObject({
      Status: 'RollbackInProgress',
      PercentageComplete: 50,
      RollbackDetails: { PercentageCompleteOnRollback: 0, InstancesToUpdateOnRollback: 2 },
    });
    expect(rolling?.RollbackDetails?.RollbackReason).toContain('injected fault');
    const last = await t.settle('shop-asg-0', start.InstanceRefreshId ?? '');
    expect(last.Status).toBe('RollbackSuccessful');
    expect(last.RollbackDetails?.PercentageCompleteOnRollback).toBe(100);
    const group = await t.groupOf('shop-asg-0');
    expect(group?.LaunchTemplate).toBeUndefined(); // still the MixedInstancesPolicy it had
    // What the refresh launched shuts down (20 s); the group is back to four instances on version 1.
    const members = await advanceUntil(sim, async () => {
      const instances = (await t.groupOf('shop-asg-0'))?.Instances ?? [];
      return instances.length === 4 ? instances : undefined;
    });
    expect(members.every((i) => i.LaunchTemplate?.Version === '1' && i.LifecycleState === 'InService')).toBe(
      true,
    );
  });

  it('a failure without AutoRollback ends Failed; an unavailable desired image fails the refresh', async () => {
    // On the running clock (scaled real time), waiting only for the ends.
    const { asg, ec2 } = t;
    t.sim.faults.add({ kind: 'refresh', group: 'shop-asg-1', outcome: 'Failed' });
    const one = await asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-1' }));
    expect(await t.ending('shop-asg-1', one.InstanceRefreshId ?? '')).toMatchObject({
      Status: 'Failed',
      PercentageComplete: 50,
    });
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
    const last = await t.ending('shop-asg-0', two.InstanceRefreshId ?? '');
    expect(last.Status).toBe('Failed');
    expect(last.StatusReason).toContain('does not exist');
  });

  it('cancel: Cancelling → Cancelled; rollback on request; errors without an active refresh', async () => {
    const { sim, asg } = t;
    sim.clock.hold();
    const { id, version } = await t.newVersion();
    const desired = { LaunchTemplate: { LaunchTemplateId: id, Version: version } };
    const a = await asg.send(
      new StartInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0', DesiredConfiguration: desired }),
    );
    const aNow = () => t.refreshOf('shop-asg-0', a.InstanceRefreshId ?? '');
    await sim.clock.advance(15_000);
    expect((await aNow())?.Status).toBe('InProgress');
    await asg.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' }));
    expect((await aNow())?.Status).toBe('Cancelling');
    const twice = await rejection(
      asg.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' })),
    );
    expect(twice.name).toBe('ActiveInstanceRefreshNotFoundFault');
    await sim.clock.advance(9_999);
    expect((await aNow())?.Status).toBe('Cancelling');
    await sim.clock.advance(1); // refreshCancel: 10 s
    expect(await aNow()).toMatchObject({ Status: 'Cancelled', StatusReason: 'Cancelled by user' });
    const none = await rejection(
      asg.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' })),
    );
    expect(none.name).toBe('ActiveInstanceRefreshNotFoundFault');

    const b = await asg.send(
      new StartInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0', DesiredConfiguration: desired }),
    );
    await sim.clock.advance(15_000);
    expect((await t.refreshOf('shop-asg-0', b.InstanceRefreshId ?? ''))?.Status).toBe('InProgress');
    await asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' }));
    expect((await t.refreshOf('shop-asg-0', b.InstanceRefreshId ?? ''))?.Status).toBe('RollbackInProgress');
    const rolledBack = await t.settle('shop-asg-0', b.InstanceRefreshId ?? '');
    expect(rolledBack.Status).toBe('RollbackSuccessful');
    expect(rolledBack.RollbackDetails?.RollbackReason).toBe('Rollback started by user');
    const noneToRollBack = await rejection(
      asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-0' })),
    );
    expect(noneToRollBack.name).toBe('ActiveInstanceRefreshNotFoundFault');
  });
});
