import {
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
  type InstanceRefresh,
} from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { RollConfig } from '../../../src/config/index.js';
import {
  canAutoRollback,
  desiredConfiguration,
  judgeRefresh,
  RefreshFailedError,
  refreshPreferences,
  rollGroup,
} from '../../../src/phases/roll.js';
import type { PlannedGroup } from '../../../src/phases/plan.js';
import { testConfig, testContext } from '../../helpers/fakes.js';

const group = (extra: Partial<PlannedGroup> = {}): PlannedGroup => ({
  name: 'web',
  launchTemplateId: 'lt-1',
  launchTemplateName: 'web',
  version: 3,
  versionRef: 'number',
  mixedInstancesPolicy: undefined,
  sourceImageId: 'ami-old',
  versionDescription: '',
  ...extra,
});

const inProgress = (): Error =>
  Object.assign(new Error('An Instance Refresh is already in progress'), {
    name: 'InstanceRefreshInProgress',
  });
const refresh = (id: string, Status: string, extra: Partial<InstanceRefresh> = {}) => ({
  InstanceRefreshes: [
    { InstanceRefreshId: id, AutoScalingGroupName: 'web', Status, ...extra } as InstanceRefresh,
  ],
});

function setup(roll: Partial<RollConfig> = {}) {
  const base = testConfig();
  const ctx = testContext(testConfig({ roll: { ...base.roll, ...roll } }));
  const asg = mockClient(ctx.rt.autoScaling);
  const ec2 = mockClient(ctx.rt.ec2);
  return { ctx, asg, ec2 };
}

describe('refreshPreferences', () => {
  it('leaves out what the user did not set, so AWS defaults apply', () => {
    const { roll } = testConfig();
    expect(refreshPreferences(roll, { autoRollback: true })).toEqual({
      MinHealthyPercentage: 90,
      MaxHealthyPercentage: 100,
      SkipMatching: false,
      AutoRollback: true,
      ScaleInProtectedInstances: 'Ignore',
      StandbyInstances: 'Ignore',
    });
  });

  it('passes every setting that is set', () => {
    const roll: RollConfig = {
      ...testConfig().roll,
      instanceWarmup: 60,
      skipMatching: true,
      checkpointPercentages: [25, 100],
      checkpointDelay: 300,
      alarms: ['5xx'],
      bakeTime: 600,
      scaleInProtectedInstances: 'Wait',
      standbyInstances: 'Terminate',
      maxHealthyPercentage: 150,
    };
    expect(refreshPreferences(roll, { autoRollback: false })).toEqual({
      MinHealthyPercentage: 90,
      MaxHealthyPercentage: 150,
      InstanceWarmup: 60,
      SkipMatching: true,
      CheckpointPercentages: [25, 100],
      CheckpointDelay: 300,
      AutoRollback: false,
      AlarmSpecification: { Alarms: ['5xx'] },
      BakeTime: 600,
      ScaleInProtectedInstances: 'Wait',
      StandbyInstances: 'Terminate',
    });
  });
});

describe('desiredConfiguration', () => {
  it('names the new numeric version of the template', () => {
    expect(desiredConfiguration(group({ versionRef: '$Latest' }), 8)).toEqual({
      LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '8' },
    });
  });

  it('replaces only the template spec of a MixedInstancesPolicy', () => {
    const policy = {
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateId: 'lt-1', Version: '$Default' },
        Overrides: [{ InstanceType: 'm7g.large' }, { InstanceType: 'm6g.large', WeightedCapacity: '2' }],
      },
      InstancesDistribution: { OnDemandBaseCapacity: 1, SpotAllocationStrategy: 'price-capacity-optimized' },
    };
    expect(desiredConfiguration(group({ mixedInstancesPolicy: policy }), 9)).toEqual({
      MixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateId: 'lt-1', Version: '9' },
          Overrides: policy.LaunchTemplate.Overrides,
        },
        InstancesDistribution: policy.InstancesDistribution,
      },
    });
  });
});

describe('judgeRefresh', () => {
  it.each([
    ['Failed', 'Instance Refresh r-1 ended Failed: launch failed'],
    ['Cancelled', 'Instance Refresh r-1 ended Cancelled: launch failed'],
    ['RollbackSuccessful', 'rolled back: launch failed'],
    ['RollbackFailed', 'Instance Refresh r-1 ended RollbackFailed: launch failed'],
  ])('%s is a failure', (status, message) => {
    const final = {
      InstanceRefreshId: 'r-1',
      Status: status,
      StatusReason: 'launch failed',
    } as InstanceRefresh;
    expect(() => judgeRefresh('web', final, 10)).toThrow(message);
  });

  it('only Successful succeeds', () => {
    const final = { InstanceRefreshId: 'r-1', Status: 'Successful' } as InstanceRefresh;
    expect(judgeRefresh('web', final, 12)).toEqual({
      group: 'web',
      instanceRefreshId: 'r-1',
      status: 'Successful',
      statusReason: '',
      seconds: 12,
    });
  });
});

describe('rollGroup', () => {
  it('starts a Rolling refresh to the new version and follows it past Baking to Successful', async () => {
    const { ctx, asg } = setup();
    asg.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-new' });
    asg
      .on(DescribeInstanceRefreshesCommand, { InstanceRefreshIds: ['r-new'] })
      .resolvesOnce(refresh('r-new', 'Pending'))
      .resolvesOnce(refresh('r-new', 'InProgress', { PercentageComplete: 50, InstancesToUpdate: 2 }))
      .resolvesOnce(refresh('r-new', 'Baking', { PercentageComplete: 100, InstancesToUpdate: 0 }))
      .resolves(refresh('r-new', 'Successful', { PercentageComplete: 100, InstancesToUpdate: 0 }));
    const record = await rollGroup({ group: group(), newVersion: 7 }, ctx, ctx.rt.log.child('web'));
    expect(record).toMatchObject({
      group: 'web',
      instanceRefreshId: 'r-new',
      status: 'Successful',
      seconds: 40,
    });
    const input = asg.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      AutoScalingGroupName: 'web',
      Strategy: 'Rolling',
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '7' } },
      Preferences: { AutoRollback: true, MinHealthyPercentage: 90 },
    });
    expect(ctx.rt.log.lines).toContain(
      'info [web] Instance Refresh r-new: InProgress 50%, 2 instance(s) to update',
    );
    expect(ctx.rt.clock.sleeps).toEqual([10_000, 10_000, 10_000, 10_000]);
  });

  it('turns auto rollback off, with a warning, for a group that follows $Latest', async () => {
    const { ctx, asg } = setup();
    asg.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-new' });
    asg.on(DescribeInstanceRefreshesCommand).resolves(refresh('r-new', 'Successful'));
    await rollGroup({ group: group({ versionRef: '$Latest' }), newVersion: 7 }, ctx, ctx.rt.log);
    expect(asg.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input.Preferences?.AutoRollback).toBe(
      false,
    );
    expect(ctx.rt.log.lines).toContain(
      'warning auto-rollback is off for this refresh: AWS cannot roll back a group that follows $Latest',
    );
  });

  it('reports a rollback as a failure with its reason and the refresh record', async () => {
    const { ctx, asg } = setup();
    asg.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-new' });
    asg
      .on(DescribeInstanceRefreshesCommand)
      .resolves(refresh('r-new', 'RollbackSuccessful', { StatusReason: 'alarm 5xx fired' }));
    const error = await rollGroup({ group: group(), newVersion: 7 }, ctx, ctx.rt.log).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RefreshFailedError);
    expect((error as RefreshFailedError).message).toBe(
      'rolled back: alarm 5xx fired (Instance Refresh r-new ended RollbackSuccessful)',
    );
    expect((error as RefreshFailedError).record.status).toBe('RollbackSuccessful');
  });

  it('on-refresh-in-progress wait: waits for the running refresh to end, then starts', async () => {
    const { ctx, asg } = setup({ onRefreshInProgress: 'wait' });
    asg.on(StartInstanceRefreshCommand).rejectsOnce(inProgress()).resolves({ InstanceRefreshId: 'r-new' });
    // The running refresh is found on the second page: every page is read, whatever the order.
    asg
      .on(DescribeInstanceRefreshesCommand, { MaxRecords: 100 })
      .resolvesOnce({
        InstanceRefreshes: [{ InstanceRefreshId: 'r-older', Status: 'Successful' }],
        NextToken: 'page-2',
      })
      .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'r-old', Status: 'InProgress' }] });
    asg
      .on(DescribeInstanceRefreshesCommand, { InstanceRefreshIds: ['r-old'] })
      .resolvesOnce(refresh('r-old', 'InProgress'))
      .resolves(refresh('r-old', 'Successful'));
    asg
      .on(DescribeInstanceRefreshesCommand, { InstanceRefreshIds: ['r-new'] })
      .resolves(refresh('r-new', 'Successful'));
    const record = await rollGroup({ group: group(), newVersion: 7 }, ctx, ctx.rt.log);
    expect(record.instanceRefreshId).toBe('r-new');
    expect(asg.commandCalls(StartInstanceRefreshCommand)).toHaveLength(2);
    expect(asg.commandCalls(CancelInstanceRefreshCommand)).toHaveLength(0);
    expect(
      asg.commandCalls(DescribeInstanceRefreshesCommand, { InstanceRefreshIds: ['r-old'] }),
    ).toHaveLength(2);
  });

  it('on-refresh-in-progress cancel: cancels, waits until Cancelled, then starts', async () => {
    const { ctx, asg } = setup({ onRefreshInProgress: 'cancel' });
    asg.on(StartInstanceRefreshCommand).rejectsOnce(inProgress()).resolves({ InstanceRefreshId: 'r-new' });
    asg.on(CancelInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-old' });
    asg
      .on(DescribeInstanceRefreshesCommand, { InstanceRefreshIds: ['r-old'] })
      .resolvesOnce(refresh('r-old', 'Cancelling'))
      .resolves(refresh('r-old', 'Cancelled'));
    asg
      .on(DescribeInstanceRefreshesCommand, { InstanceRefreshIds: ['r-new'] })
      .resolves(refresh('r-new', 'Successful'));
    await expect(rollGroup({ group: group(), newVersion: 7 }, ctx, ctx.rt.log)).resolves.toMatchObject({
      status: 'Successful',
    });
    expect(asg.commandCalls(CancelInstanceRefreshCommand)[0]?.args[0].input).toEqual({
      AutoScalingGroupName: 'web',
    });
    expect(asg.commandCalls(StartInstanceRefreshCommand)).toHaveLength(2);
  });

  it('on-refresh-in-progress fail: fails the group and touches nothing', async () => {
    const { ctx, asg } = setup({ onRefreshInProgress: 'fail' });
    asg.on(StartInstanceRefreshCommand).rejects(inProgress());
    await expect(rollGroup({ group: group(), newVersion: 7 }, ctx, ctx.rt.log)).rejects.toThrow(
      'an Instance Refresh is already in progress on web (on-refresh-in-progress: fail)',
    );
    expect(asg.commandCalls(CancelInstanceRefreshCommand)).toHaveLength(0);
    expect(asg.commandCalls(StartInstanceRefreshCommand)).toHaveLength(1);
  });

  it('gives up after refresh-timeout, saying the refresh goes on in AWS', async () => {
    const { ctx, asg } = setup({ timeoutSeconds: 60 });
    asg.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-new' });
    asg
      .on(DescribeInstanceRefreshesCommand)
      .resolves(refresh('r-new', 'InProgress', { PercentageComplete: 10 }));
    await expect(rollGroup({ group: group(), newVersion: 7 }, ctx, ctx.rt.log)).rejects.toThrow(
      'Timed out after 60s waiting for Instance Refresh r-new (it goes on in AWS)',
    );
  });

  it('with wait-for-refresh false returns once started', async () => {
    const { ctx, asg } = setup({ waitForRefresh: false });
    asg.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-new' });
    await expect(rollGroup({ group: group(), newVersion: 7 }, ctx, ctx.rt.log)).resolves.toMatchObject({
      status: 'Pending',
    });
    expect(asg.commandCalls(DescribeInstanceRefreshesCommand)).toHaveLength(0);
  });

  it('wraps other start errors with what was attempted', async () => {
    const { ctx, asg } = setup();
    asg
      .on(StartInstanceRefreshCommand)
      .rejects(Object.assign(new Error('bad preference'), { name: 'ValidationError' }));
    await expect(rollGroup({ group: group(), newVersion: 7 }, ctx, ctx.rt.log)).rejects.toThrow(
      'Could not start the Instance Refresh: bad preference',
    );
  });
});

describe('rollGroup of a $Latest group', () => {
  it('with wait-for-refresh false: no update, and a warning that AWS will save the number', async () => {
    const { ctx, asg } = setup({ waitForRefresh: false });
    asg.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-new' });
    await rollGroup({ group: group({ versionRef: '$Latest' }), newVersion: 7 }, ctx, ctx.rt.log);
    expect(asg.commandCalls(UpdateAutoScalingGroupCommand)).toHaveLength(0);
    expect(
      ctx.rt.log.lines.some(
        (l) =>
          l.startsWith('warning once the refresh succeeds, AWS saves lt-1 version 7') &&
          l.includes('$Latest'),
      ),
    ).toBe(true);
  });
});

describe('canAutoRollback', () => {
  it('only for a group that names its version by number and whose image is no parameter', () => {
    expect(canAutoRollback({ versionRef: 'number' })).toBe(true);
    expect(canAutoRollback({ versionRef: '$Default' })).toBe(false);
    expect(canAutoRollback({ versionRef: 'number', imageAlias: 'resolve:ssm:/al2023' })).toBe(false);
  });
});
