// What cleanup must see besides templates, images and snapshots: who else may launch an AMI, the
// volumes temporary instances leave behind, warm-pool instances, and `resolve:ssm:` images.
import {
  DescribeWarmPoolCommand,
  DeleteWarmPoolCommand,
  PutWarmPoolCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  DeleteVolumeCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeVolumesCommand,
  ModifyImageAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type SeedResult, type Simulator } from './index.js';
import { setImageParameter } from './ssm-aliases.js';
import { advanceUntil, clients, rejection } from './testkit.js';

let sim: Simulator;
let ec2: ReturnType<typeof clients>['ec2'];
let asg: ReturnType<typeof clients>['asg'];
let seeded: SeedResult;
let image: string;

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.0001 });
  ({ ec2, asg } = clients(sim));
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await sim.reset();
  seeded = sim.seed(buildFixture({ groups: 1, images: 2, instancesPerGroup: 1 }));
  image = seeded.images['shop-base-0'] ?? '';
});

const permissions = async (imageId: string) =>
  (await ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' })))
    .LaunchPermissions;
const isPublic = async (imageId: string) =>
  (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]?.Public;

describe('launch permissions (ModifyImageAttribute, DescribeImageAttribute)', () => {
  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImageAttribute.html
  it('lists the accounts an image is shared with; Group all makes it Public', async () => {
    expect(await permissions(image)).toEqual([]);
    await ec2.send(
      new ModifyImageAttributeCommand({
        ImageId: image,
        LaunchPermission: { Add: [{ UserId: '111122223333' }] },
      }),
    );
    expect(await permissions(image)).toEqual([{ UserId: '111122223333' }]);
    expect(await isPublic(image)).toBe(false);
    await ec2.send(
      new ModifyImageAttributeCommand({
        ImageId: image,
        Attribute: 'launchPermission',
        OperationType: 'add',
        UserGroups: ['all'],
      }),
    );
    expect(await isPublic(image)).toBe(true);
    await ec2.send(
      new ModifyImageAttributeCommand({
        ImageId: image,
        LaunchPermission: { Remove: [{ Group: 'all' }, { UserId: '111122223333' }] },
      }),
    );
    expect(await permissions(image)).toEqual([]);
    expect(await isPublic(image)).toBe(false);
  });

  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchPermission.html: Group is only `all`.
  it('refuses an unknown group and an unknown image', async () => {
    const bad = await rejection(
      ec2.send(
        new ModifyImageAttributeCommand({
          ImageId: image,
          LaunchPermission: { Add: [{ Group: 'everyone' as 'all' }] },
        }),
      ),
    );
    expect(bad.name).toBe('InvalidParameterValue');
    const missing = await rejection(
      ec2.send(
        new DescribeImageAttributeCommand({
          ImageId: 'ami-0000000000000dead',
          Attribute: 'launchPermission',
        }),
      ),
    );
    expect(missing.name).toBe('InvalidAMIID.NotFound');
  });
});

describe('volumes left by terminated instances (DescribeVolumes, DeleteVolume)', () => {
  // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/preserving-volumes-on-termination.html
  it('a volume with DeleteOnTermination false stays available, with its tags, until DeleteVolume', async () => {
    const template = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'keeps-volumes',
        LaunchTemplateData: {
          ImageId: image,
          InstanceType: 't3.micro',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false } }],
        },
      }),
    );
    const run = await ec2.send(
      new RunInstancesCommand({
        LaunchTemplate: { LaunchTemplateId: template.LaunchTemplate?.LaunchTemplateId, Version: '1' },
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'owner', Value: 'test' }] }],
      }),
    );
    const instanceId = run.Instances?.[0]?.InstanceId ?? '';
    const tagged = { Filters: [{ Name: 'tag:owner', Values: ['test'] }] };
    const [volume] = (await ec2.send(new DescribeVolumesCommand(tagged))).Volumes ?? [];
    expect(volume).toMatchObject({ State: 'in-use', Attachments: [{ InstanceId: instanceId }] });
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVolume.html: only when available.
    const attached = await rejection(ec2.send(new DeleteVolumeCommand({ VolumeId: volume?.VolumeId })));
    expect(attached.name).toBe('VolumeInUse');
    sim.clock.hold();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    await advanceUntil(sim, () => sim.state.instances.get(instanceId)?.instance.State?.Name === 'terminated');
    const available = await ec2.send(
      new DescribeVolumesCommand({ Filters: [...tagged.Filters, { Name: 'status', Values: ['available'] }] }),
    );
    expect(available.Volumes?.map((v) => v.VolumeId)).toEqual([volume?.VolumeId]);
    await ec2.send(new DeleteVolumeCommand({ VolumeId: volume?.VolumeId }));
    expect((await ec2.send(new DescribeVolumesCommand(tagged))).Volumes).toEqual([]);
  });

  it('volumes deleted on termination (the default) are gone with their instance', async () => {
    const run = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 }));
    const instanceId = run.Instances?.[0]?.InstanceId ?? '';
    const mine = { Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] };
    expect((await ec2.send(new DescribeVolumesCommand(mine))).Volumes).toHaveLength(1);
    sim.clock.hold();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    await advanceUntil(sim, () => sim.state.instances.get(instanceId)?.instance.State?.Name === 'terminated');
    expect(sim.state.volumes.size).toBe(1); // the group's instance's volume only
  });
});

describe('warm pools (PutWarmPool, DescribeWarmPool, DeleteWarmPool)', () => {
  // https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html: by default
  // the pool holds MaxSize minus DesiredCapacity instances, outside the group's Instances.
  it('keeps stopped instances on the version the group used when they were launched', async () => {
    const group = 'shop-asg-0';
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group, MaxSize: 3 }));
    await asg.send(new PutWarmPoolCommand({ AutoScalingGroupName: group }));
    const pool = await asg.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: group }));
    expect(pool.WarmPoolConfiguration).toMatchObject({ MinSize: 0, PoolState: 'Stopped' });
    expect(pool.Instances).toHaveLength(2);
    for (const instance of pool.Instances ?? []) {
      expect(instance).toMatchObject({
        LifecycleState: 'Warmed:Stopped',
        LaunchTemplate: { LaunchTemplateId: seeded.launchTemplates['shop-lt-0'], Version: '1' },
      });
      expect(sim.state.groups.get(group)?.Instances?.map((i) => i.InstanceId)).not.toContain(
        instance.InstanceId,
      );
    }
    await asg.send(new DeleteWarmPoolCommand({ AutoScalingGroupName: group }));
    expect((await asg.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: group }))).Instances).toEqual(
      [],
    );
  });
});

describe('resolve:ssm: images (DescribeLaunchTemplateVersions ResolveAlias)', () => {
  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ResponseLaunchTemplateData.html: with
  // ResolveAlias the AMI id the parameter maps to, without it the parameter as given.
  it('shows the AMI the parameter maps to only when ResolveAlias is set', async () => {
    setImageParameter(sim.world, 'golden/web', image);
    const created = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'follows-parameter',
        LaunchTemplateData: { ImageId: 'resolve:ssm:golden/web', InstanceType: 't3.micro' },
      }),
    );
    const id = created.LaunchTemplate?.LaunchTemplateId;
    const imageOf = async (resolve: boolean) =>
      (
        await ec2.send(
          new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, ResolveAlias: resolve }),
        )
      ).LaunchTemplateVersions?.[0]?.LaunchTemplateData?.ImageId;
    expect(await imageOf(false)).toBe('resolve:ssm:golden/web');
    expect(await imageOf(true)).toBe(image);
    setImageParameter(sim.world, 'golden/web', seeded.images['shop-base-1']);
    expect(await imageOf(true)).toBe(seeded.images['shop-base-1']);
  });
});
