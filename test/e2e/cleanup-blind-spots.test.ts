/**
 * Uses of our resources that groups, versions and instances do not show: an AMI shared with other
 * accounts or made public, a version whose image is `resolve:ssm:`, warm-pool instances, and the
 * volumes temporary instances leave when their template keeps volumes on termination.
 */
import { PutWarmPoolCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  ModifyImageAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { Roles, Tags } from '../../src/aws/tags.js';
import { ids, kept, ours, RUN, useCleanupSimulator } from '../helpers/cleanup-cycle.js';
import { setImageParameter } from '../sim/ssm-aliases.js';
import { advanceUntil } from '../sim/testkit.js';

const { sim, seed, ec2, autoScaling, markOurs, cycle } = useCleanupSimulator();

/** lt-web with four versions of ours on w1…w4 (the default is 4), group web following $Latest. */
async function webLine(extraVersions: { data: { ImageId: string }; description: string }[] = []) {
  const s = seed({
    images: ['w1', 'w2', 'w3', 'w4'].map((name) => ({ name })),
    launchTemplates: [
      { name: 'lt-web', versions: [...ours('w1', 'w2', 'w3', 'w4'), ...extraVersions], defaultVersion: 4 },
    ],
    groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 0 }],
  });
  const images = await Promise.all(
    ['w1', 'w2', 'w3', 'w4'].map((n, i) => markOurs(s, n, { templates: ['lt-web'], age: 900 - 100 * i })),
  );
  return { s, lt: s.launchTemplates['lt-web'] ?? '', images };
}

const web = { selection: { names: ['web'], tags: [] } };

describe('cleanup and uses it cannot see in groups', () => {
  it('keeps an AMI shared with another account and one made public', async () => {
    const { images } = await webLine();
    const [w1, w2, w3] = images;
    await ec2().send(
      new ModifyImageAttributeCommand({
        ImageId: w1,
        LaunchPermission: { Add: [{ UserId: '111122223333' }] },
      }),
    );
    await ec2().send(
      new ModifyImageAttributeCommand({ ImageId: w2, LaunchPermission: { Add: [{ Group: 'all' }] } }),
    );
    const report = await cycle(web);
    expect(ids(report, 'ami')).toEqual([w3]);
    expect(kept(report, w1)).toBe('shared with account 111122223333, who may launch it where we cannot see');
    expect(kept(report, w2)).toBe('shared with public, who may launch it where we cannot see');
  });

  it('keeps the AMI a resolve:ssm: image of the version a group uses resolves to', async () => {
    // Version 5 follows a parameter; today it names w1, our oldest AMI.
    const { lt, images } = await webLine([
      { data: { ImageId: 'resolve:ssm:golden/web' }, description: 'by hand' },
    ]);
    const [w1, w2, w3] = images;
    setImageParameter(sim().world, 'golden/web', w1 ?? '');
    const report = await cycle(web);
    expect(kept(report, w1)).toContain(`used by group web (LaunchTemplate, $Latest → ${lt}:5)`);
    expect(ids(report, 'ami')).toEqual([w2, w3].sort());
  });

  it('keeps the version a warm-pool instance was launched from', async () => {
    const { lt } = await webLine();
    // The pool filled while web was on version 2; web follows $Latest again since.
    await autoScaling().send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'web',
        LaunchTemplate: { LaunchTemplateId: lt, Version: '2' },
        MaxSize: 1,
      }),
    );
    await autoScaling().send(new PutWarmPoolCommand({ AutoScalingGroupName: 'web' }));
    await autoScaling().send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'web',
        LaunchTemplate: { LaunchTemplateId: lt, Version: '$Latest' },
      }),
    );
    const [warm] = sim().state.warmPools.get('web')?.instances.keys() ?? [];
    const report = await cycle(web);
    expect(ids(report, 'launch-template-version')).toEqual([`${lt}:1`, `${lt}:3`]);
    expect(kept(report, `${lt}:2`)).toBe(`used by warm pool instance ${warm} of group web`);
  });
});

describe('cleanup of volumes temporary instances leave', () => {
  it('deletes our available volumes older than the minimum age, and no other volume', async () => {
    const s = seed({
      images: [{ name: 'base' }],
      launchTemplates: [{ name: 'lt-web', versions: [{ imageName: 'base', description: 'initial' }] }],
      groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 0 }],
    });
    const template = await ec2().send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'keeps-volumes',
        LaunchTemplateData: {
          ImageId: s.images.base,
          InstanceType: 't3.micro',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false } }],
        },
      }),
    );
    const launch = async (tags: Record<string, string>): Promise<string> => {
      const list = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
      const out = await ec2().send(
        new RunInstancesCommand({
          LaunchTemplate: { LaunchTemplateId: template.LaunchTemplate?.LaunchTemplateId, Version: '1' },
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [
            { ResourceType: 'instance', Tags: list },
            { ResourceType: 'volume', Tags: list },
          ],
        }),
      );
      return out.Instances?.[0]?.InstanceId ?? '';
    };
    const ourTags = (runId: string) => ({
      [Tags.Managed]: 'true',
      [Tags.Role]: Roles.TemporaryInstance,
      [Tags.RunId]: runId,
      [Tags.Groups]: 'web',
    });
    const instances = {
      old: await launch(ourTags('run-old')),
      young: await launch(ourTags('run-young')),
      theirs: await launch({ [Tags.Groups]: 'web' }),
      running: await launch(ourTags('run-live')),
    };
    const volumeOf = (instance: string): string =>
      sim().state.instances.get(instance)?.volumes[0]?.volumeId ?? '';
    sim().clock.hold();
    const gone = [instances.old, instances.young, instances.theirs];
    await ec2().send(new TerminateInstancesCommand({ InstanceIds: gone }));
    await advanceUntil(sim(), () =>
      gone.every((id) => sim().state.instances.get(id)?.instance.State?.Name === 'terminated'),
    );
    sim().clock.release();
    for (const instance of [instances.old, instances.theirs, instances.running]) {
      sim().state.volumes.get(volumeOf(instance))!.CreateTime = new Date(Date.now() - 24 * 3_600_000);
    }
    const report = await cycle({ selection: { names: ['web'], tags: [] }, runId: RUN });
    expect(ids(report, 'volume')).toEqual([volumeOf(instances.old)]);
    for (const instance of [instances.young, instances.theirs, instances.running])
      expect(sim().state.volumes.has(volumeOf(instance)), instance).toBe(true);
  });
});
