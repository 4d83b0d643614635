import {
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  DescribeLaunchConfigurationsCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type SeedResult, type Simulator } from './index.js';
import { advanceUntil, clients, rejection } from './testkit.js';

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
  // shop-asg-0 uses a MixedInstancesPolicy, shop-asg-1 a LaunchTemplate; both follow version 1.
  seeded = sim.seed({
    ...buildFixture({ groups: 2, instancesPerGroup: 2, mixedInstancesPolicy: 2, versionMode: 'number' }),
    images: [{ name: 'shop-base-0' }, { name: 'shop-new' }],
  });
});

async function describeGroup(name: string): Promise<AutoScalingGroup> {
  const res = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  const group = res.AutoScalingGroups?.[0];
  if (!group) throw new Error(`${name} not described`);
  return group;
}

/** Version 2 of the group's template, with the new image. */
async function newVersion(template: string): Promise<string> {
  const res = await ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateName: template,
      SourceVersion: '1',
      LaunchTemplateData: { ImageId: seeded.images['shop-new'] },
    }),
  );
  return String(res.LaunchTemplateVersion?.VersionNumber);
}

const memberIds = (group: AutoScalingGroup): string[] =>
  (group.Instances ?? []).map((i) => i.InstanceId ?? '').sort();

describe('UpdateAutoScalingGroup with a launch template', () => {
  it('stores $Latest as given with id and name, replaces nobody, and launches the latest later', async () => {
    const before = await describeGroup('shop-asg-1');
    await newVersion('shop-lt-1');
    await asg.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'shop-asg-1',
        LaunchTemplate: { LaunchTemplateId: seeded.launchTemplates['shop-lt-1'], Version: '$Latest' },
      }),
    );
    const after = await describeGroup('shop-asg-1');
    expect(after.LaunchTemplate).toEqual({
      LaunchTemplateId: seeded.launchTemplates['shop-lt-1'],
      LaunchTemplateName: 'shop-lt-1',
      Version: '$Latest',
    });
    expect(after.MixedInstancesPolicy).toBeUndefined();
    expect(memberIds(after)).toEqual(memberIds(before));

    await asg.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'shop-asg-1', DesiredCapacity: 3 }),
    );
    const scaled = await describeGroup('shop-asg-1');
    const added = scaled.Instances?.find((i) => !memberIds(before).includes(i.InstanceId ?? ''));
    expect(added?.LaunchTemplate?.Version).toBe('2');
    expect(sim.state.instances.get(added?.InstanceId ?? '')?.instance.ImageId).toBe(
      seeded.images['shop-new'],
    );
  });

  it('refuses a version the template does not have, and both a template and a mixed policy', async () => {
    const unknown = await rejection(
      asg.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: 'shop-asg-1',
          LaunchTemplate: { LaunchTemplateName: 'shop-lt-1', Version: '9' },
        }),
      ),
    );
    expect(unknown.name).toBe('ValidationError');
    const both = await rejection(
      asg.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: 'shop-asg-1',
          LaunchTemplate: { LaunchTemplateName: 'shop-lt-1', Version: '1' },
          MixedInstancesPolicy: {
            LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateName: 'shop-lt-1' } },
          },
        }),
      ),
    );
    expect(both.name).toBe('ValidationError');
    expect((await describeGroup('shop-asg-1')).LaunchTemplate?.Version).toBe('1');
  });

  it('a launch template replaces a mixed instances policy', async () => {
    await asg.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'shop-asg-0',
        LaunchTemplate: { LaunchTemplateName: 'shop-lt-0', Version: '$Default' },
      }),
    );
    const after = await describeGroup('shop-asg-0');
    expect(after.MixedInstancesPolicy).toBeUndefined();
    expect(after.LaunchTemplate).toMatchObject({ LaunchTemplateName: 'shop-lt-0', Version: '$Default' });
  });
});

describe('UpdateAutoScalingGroup with a MixedInstancesPolicy', () => {
  it('keeps what the request leaves out: overrides and every distribution field not given', async () => {
    const before = await describeGroup('shop-asg-0');
    const id = seeded.launchTemplates['shop-lt-0'];
    await newVersion('shop-lt-0');
    await asg.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'shop-asg-0',
        MixedInstancesPolicy: {
          LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateId: id, Version: '$Latest' } },
          InstancesDistribution: { OnDemandBaseCapacity: 1 },
        },
      }),
    );
    const after = await describeGroup('shop-asg-0');
    expect(after.LaunchTemplate).toBeUndefined();
    expect(after.MixedInstancesPolicy).toEqual({
      LaunchTemplate: {
        LaunchTemplateSpecification: {
          LaunchTemplateId: id,
          LaunchTemplateName: 'shop-lt-0',
          Version: '$Latest',
        },
        Overrides: [{ InstanceType: 't3.micro' }, { InstanceType: 't3a.micro' }],
      },
      InstancesDistribution: { OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 100 },
    });
    expect(memberIds(after)).toEqual(memberIds(before));
  });

  it('the whole policy sent back with another spec changes only the spec', async () => {
    const before = await describeGroup('shop-asg-0');
    const policy = before.MixedInstancesPolicy;
    await asg.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'shop-asg-0',
        MixedInstancesPolicy: {
          ...policy,
          LaunchTemplate: {
            ...policy?.LaunchTemplate,
            LaunchTemplateSpecification: { LaunchTemplateName: 'shop-lt-0', Version: '$Default' },
          },
        },
      }),
    );
    const after = await describeGroup('shop-asg-0');
    expect(after.MixedInstancesPolicy?.LaunchTemplate?.Overrides).toEqual(policy?.LaunchTemplate?.Overrides);
    expect(after.MixedInstancesPolicy?.InstancesDistribution).toEqual(policy?.InstancesDistribution);
    expect(after.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification?.Version).toBe('$Default');
  });

  it('a group without a policy needs a template spec to get one', async () => {
    const error = await rejection(
      asg.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: 'shop-asg-1',
          MixedInstancesPolicy: { InstancesDistribution: { OnDemandBaseCapacity: 1 } },
        }),
      ),
    );
    expect(error.name).toBe('ValidationError');
  });
});

describe('UpdateAutoScalingGroup during an Instance Refresh', () => {
  it('refuses a new launch template while a refresh with a desired configuration runs', async () => {
    sim.clock.hold(); // the refresh stays Pending, active, for as long as the test takes
    const version = await newVersion('shop-lt-1');
    await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-1',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: 'shop-lt-1', Version: version } },
      }),
    );
    const error = await rejection(
      asg.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: 'shop-asg-1',
          LaunchTemplate: { LaunchTemplateName: 'shop-lt-1', Version: '$Latest' },
        }),
      ),
    );
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain('An active instance refresh with a desired configuration exists');
    // Sizes are not derived from the desired configuration: they still change.
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'shop-asg-1', MaxSize: 6 }));
    expect((await describeGroup('shop-asg-1')).MaxSize).toBe(6);
  });

  it('allows it while a refresh without a desired configuration runs', async () => {
    sim.clock.hold();
    const start = await asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-1' }));
    await asg.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'shop-asg-1',
        LaunchTemplate: { LaunchTemplateName: 'shop-lt-1', Version: '$Latest' },
      }),
    );
    expect((await describeGroup('shop-asg-1')).LaunchTemplate?.Version).toBe('$Latest');
    const refreshes = await asg.send(
      new DescribeInstanceRefreshesCommand({
        AutoScalingGroupName: 'shop-asg-1',
        InstanceRefreshIds: [start.InstanceRefreshId ?? ''],
      }),
    );
    expect(refreshes.InstanceRefreshes?.[0]?.Status).toBe('Pending'); // it was allowed while active
  });

  it('after a Successful refresh the group names the desired version, and $Latest can be set back', async () => {
    // Held: the last replaced instance shuts down on a timer, which must not fire between the two
    // describes compared below.
    sim.clock.hold();
    const version = await newVersion('shop-lt-1');
    const id = seeded.launchTemplates['shop-lt-1'] ?? '';
    await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-1',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: id, Version: version } },
        Preferences: { InstanceWarmup: 1, MinHealthyPercentage: 50 },
      }),
    );
    const refreshed = await advanceUntil(sim, async () => {
      const g = await describeGroup('shop-asg-1');
      return g.LaunchTemplate?.Version === version ? g : undefined;
    });
    expect(refreshed.Instances?.filter((i) => i.LaunchTemplate?.Version === version)).toHaveLength(2);
    await asg.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'shop-asg-1',
        LaunchTemplate: { LaunchTemplateId: id, Version: '$Latest' },
      }),
    );
    const after = await describeGroup('shop-asg-1');
    expect(after.LaunchTemplate?.Version).toBe('$Latest');
    expect(memberIds(after)).toEqual(memberIds(refreshed));
  });
});

describe('DescribeLaunchConfigurations', () => {
  it('describes seeded launch configurations with their image, by name and in pages', async () => {
    sim.seed({
      launchConfigurations: ['lc-a', 'lc-b', 'lc-c'].map((name) => ({ name, imageName: 'shop-new' })),
      groups: [{ name: 'legacy', launchConfigurationName: 'lc-a', desiredCapacity: 1 }],
    });
    const group = await describeGroup('legacy');
    expect(group.LaunchConfigurationName).toBe('lc-a');
    expect(group.Instances).toEqual([]);

    const named = await asg.send(
      new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: ['lc-a', 'lc-unknown'] }),
    );
    expect(named.LaunchConfigurations?.map((lc) => [lc.LaunchConfigurationName, lc.ImageId])).toEqual([
      ['lc-a', seeded.images['shop-new']],
    ]);

    const first = await asg.send(new DescribeLaunchConfigurationsCommand({ MaxRecords: 2 }));
    expect(first.LaunchConfigurations).toHaveLength(2);
    const second = await asg.send(
      new DescribeLaunchConfigurationsCommand({ MaxRecords: 2, NextToken: first.NextToken }),
    );
    expect(second.LaunchConfigurations?.map((lc) => lc.LaunchConfigurationName)).toEqual(['lc-c']);
    expect(second.NextToken).toBeUndefined();

    const tooMany = Array.from({ length: 51 }, (_, i) => `lc-${i}`);
    expect(
      await rejection(
        asg.send(new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: tooMany })),
      ),
    ).toMatchObject({ name: 'ValidationError' });
  });
});
