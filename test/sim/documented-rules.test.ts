// Rules AWS documents that the simulator follows, each with the page it follows:
// - DescribeLaunchTemplates fails the whole call when one asked id or name does not exist
//   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeLaunchTemplates.html
// - names: a new group's name is ASCII 33–126 without a colon; other actions take the XML-text pattern
//   https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html
//   launch template names match [a-zA-Z0-9\(\)\.\-/_]+, 3 to 128 characters
//   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html
// - no auto rollback (nor manual one) for a group on $Latest/$Default
//   https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html
// - a group's launch template is described with both id and name
//   https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html
// - DeregisterImage with DeleteAssociatedSnapshots answers per snapshot, `skipped` for a shared one
//   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSnapshotReturnCode.html
// - instances launched from a launch template carry aws:ec2launchtemplate:id / :version tags
//   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/launch-instances-from-launch-template.html
import {
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  RollbackInstanceRefreshCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  DeregisterImageCommand,
  DescribeLaunchTemplatesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type SeedResult, type Simulator } from './index.js';
import { clients, rejection } from './testkit.js';

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
  // shop-asg-0 names version 1, shop-asg-1 $Default, shop-asg-2 $Latest.
  seeded = sim.seed(buildFixture({ groups: 3, instancesPerGroup: 1, versionMode: 'mixed' }));
});

const createGroup = (name: string) =>
  asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateName: 'shop-lt-0' },
      MinSize: 0,
      MaxSize: 1,
      DesiredCapacity: 0,
    }),
  );

describe('DescribeLaunchTemplates', () => {
  it('fails the whole call when one of the asked templates does not exist', async () => {
    const known = seeded.launchTemplates['shop-lt-0'] ?? '';
    const byId = await rejection(
      ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [known, 'lt-0123456789abcdef0'] })),
    );
    expect(byId.name).toBe('InvalidLaunchTemplateId.NotFound');
    const byName = await rejection(
      ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['shop-lt-0', 'gone'] })),
    );
    expect(byName.name).toBe('InvalidLaunchTemplateName.NotFoundException');
    const alone = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [known] }));
    expect(alone.LaunchTemplates?.map((t) => t.LaunchTemplateName)).toEqual(['shop-lt-0']);
  });
});

describe('names', () => {
  it('CreateAutoScalingGroup takes ASCII 33–126 without a colon, up to 255 characters', async () => {
    for (const bad of ['web\nprod', 'web prod', 'web:prod', 'w'.repeat(256), 'wéb']) {
      const err = await rejection(createGroup(bad));
      expect(err.name, JSON.stringify(bad)).toBe('ValidationError');
    }
    await createGroup('web.prod-1_(a)/[b]!');
    await createGroup('w'.repeat(255));
    const res = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web.prod-1_(a)/[b]!'] }),
    );
    expect(res.AutoScalingGroups).toHaveLength(1);
  });

  it('other actions take any XML text: a newline name is simply not found, a control character is refused', async () => {
    const none = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['a\nb'] }));
    expect(none.AutoScalingGroups).toEqual([]);
    const missing = await rejection(
      asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'a\nb', MaxSize: 1 })),
    );
    expect(missing.message).toContain('not found');
    const control = await rejection(
      asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'a\u0001b', MaxSize: 1 })),
    );
    expect(control.name).toBe('ValidationError');
    expect(control.message).toContain('regular expression pattern');
  });

  it('CreateLaunchTemplate takes [a-zA-Z0-9().-/_], 3 to 128 characters', async () => {
    const create = (name: string) =>
      ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: name,
          LaunchTemplateData: { ImageId: seeded.images['shop-base-0'] },
        }),
      );
    for (const bad of ['ab', 'web app', 'web:1', 'web\n1', 'x'.repeat(129)]) {
      const err = await rejection(create(bad));
      expect(err.name, JSON.stringify(bad)).toBe('InvalidParameterValue');
    }
    const ok = await create('a(b).c-d/e_f');
    expect(ok.LaunchTemplate?.LaunchTemplateName).toBe('a(b).c-d/e_f');
  });
});

describe('Instance Refresh rollback', () => {
  const desired = () => ({
    LaunchTemplate: { LaunchTemplateId: seeded.launchTemplates['shop-lt-1'], Version: '1' },
  });

  it('refuses AutoRollback for a group on $Default or $Latest, and allows it by number', async () => {
    for (const [group, template] of [
      ['shop-asg-1', 'shop-lt-1'],
      ['shop-asg-2', 'shop-lt-2'],
    ] as const) {
      const err = await rejection(
        asg.send(
          new StartInstanceRefreshCommand({
            AutoScalingGroupName: group,
            DesiredConfiguration: {
              LaunchTemplate: { LaunchTemplateId: seeded.launchTemplates[template], Version: '1' },
            },
            Preferences: { AutoRollback: true },
          }),
        ),
      );
      expect(err.name).toBe('ValidationError');
      expect(err.message).toMatch(/\$(Default|Latest) version/);
    }
    const started = await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-0',
        DesiredConfiguration: {
          LaunchTemplate: { LaunchTemplateId: seeded.launchTemplates['shop-lt-0'], Version: '1' },
        },
        Preferences: { AutoRollback: true },
      }),
    );
    expect(started.InstanceRefreshId).toBeTruthy();
  });

  it('refuses a manual rollback for a group that was on $Default', async () => {
    sim.clock.hold();
    await asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-asg-1',
        DesiredConfiguration: desired(),
      }),
    );
    const err = await rejection(
      asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'shop-asg-1' })),
    );
    expect(err.name).toBe('ValidationError');
    expect(err.message).toContain('$Default');
  });
});

describe('groups and their instances', () => {
  it('describes a group created by template name with the id and name, and $Default when no version was given', async () => {
    await createGroup('by-name');
    const res = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['by-name'] }));
    expect(res.AutoScalingGroups?.[0]?.LaunchTemplate).toEqual({
      LaunchTemplateId: seeded.launchTemplates['shop-lt-0'],
      LaunchTemplateName: 'shop-lt-0',
      Version: '$Default',
    });
  });

  it('tags instances a group launches with the launch template id and the version used', async () => {
    const [member] = sim.state.groups.get('shop-asg-1')?.Instances ?? [];
    const tags = sim.state.instances.get(member?.InstanceId ?? '')?.instance.Tags ?? [];
    expect(tags).toEqual(
      expect.arrayContaining([
        { Key: 'aws:ec2launchtemplate:id', Value: seeded.launchTemplates['shop-lt-1'] },
        { Key: 'aws:ec2launchtemplate:version', Value: '1' },
        { Key: 'aws:autoscaling:groupName', Value: 'shop-asg-1' },
      ]),
    );
  });
});

describe('DeregisterImage with DeleteAssociatedSnapshots', () => {
  it('answers per snapshot: success for its own, skipped for one another AMI still uses', async () => {
    const imageId = seeded.images['shop-base-0'] ?? '';
    const image = sim.state.images.get(imageId);
    const [own, shared] = [sim.state.snapshots.size, 'snap-0feedfeedfeedfee1'];
    expect(own).toBe(1);
    // A second snapshot, also used by another AMI (as a copy within the account would be).
    sim.state.snapshots.set(shared, { SnapshotId: shared, State: 'completed', OwnerId: '123456789012' });
    image?.BlockDeviceMappings?.push({ DeviceName: '/dev/sdf', Ebs: { SnapshotId: shared } });
    sim.state.images.set('ami-0feedfeedfeedfee1', {
      ImageId: 'ami-0feedfeedfeedfee1',
      State: 'available',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: shared } }],
    });
    const rootSnapshot = image?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
    const res = await ec2.send(
      new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true }),
    );
    expect(res.DeleteSnapshotResults).toEqual([
      { SnapshotId: rootSnapshot, ReturnCode: 'success' },
      { SnapshotId: shared, ReturnCode: 'skipped' },
    ]);
    expect(sim.state.snapshots.has(shared)).toBe(true);
    expect(sim.state.snapshots.has(rootSnapshot ?? '')).toBe(false);
  });
});
