// Launch templates whose image is a Systems Manager parameter (`resolve:ssm:<name>`), as EC2 documents
// them: the version keeps the reference; DescribeLaunchTemplateVersions shows the AMI id only with
// ResolveAlias; every launch (RunInstances, a group's scale-out, an Instance Refresh) reads the value the
// parameter holds at that moment.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeLaunchTemplateVersions.html (ResolveAlias)
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ResponseLaunchTemplateData.html (ImageId)
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/using-systems-manager-parameters.html
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RollbackInstanceRefresh.html (no rollback to one)
import { DescribeAutoScalingGroupsCommand, StartInstanceRefreshCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateVersionCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startSimulator, type SeedResult, type Simulator } from './index.js';
import { clients, rejection } from './testkit.js';

const parameter = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64';

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
    images: [{ name: 'al2023-old' }, { name: 'al2023-new' }],
    parameters: [{ name: parameter, imageName: 'al2023-old' }],
    launchTemplates: [{ name: 'follows-ssm', versions: [{ data: { ImageId: `resolve:ssm:${parameter}` } }] }],
    groups: [{ name: 'ssm-asg', launchTemplate: { name: 'follows-ssm', version: '1' }, desiredCapacity: 1 }],
  });
});

const templateId = () => seeded.launchTemplates['follows-ssm'] ?? '';

async function imageIdShown(resolveAlias: boolean | undefined): Promise<string | undefined> {
  const res = await ec2.send(
    new DescribeLaunchTemplateVersionsCommand({
      LaunchTemplateId: templateId(),
      Versions: ['1'],
      ResolveAlias: resolveAlias,
    }),
  );
  return res.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.ImageId;
}

describe('resolve:ssm: images', () => {
  it('DescribeLaunchTemplateVersions shows the parameter, or with ResolveAlias the AMI id it holds now', async () => {
    expect(await imageIdShown(undefined)).toBe(`resolve:ssm:${parameter}`);
    expect(await imageIdShown(false)).toBe(`resolve:ssm:${parameter}`);
    expect(await imageIdShown(true)).toBe(seeded.images['al2023-old']);
    sim.state.parameters.set(parameter, seeded.images['al2023-new'] ?? '');
    expect(await imageIdShown(true)).toBe(seeded.images['al2023-new']);
    // The stored version still names the parameter.
    expect(await imageIdShown(false)).toBe(`resolve:ssm:${parameter}`);
  });

  it('RunInstances and a group launch boot the image the parameter holds at launch', async () => {
    const [member] = sim.state.groups.get('ssm-asg')?.Instances ?? [];
    expect(sim.state.instances.get(member?.InstanceId ?? '')?.instance.ImageId).toBe(
      seeded.images['al2023-old'],
    );
    sim.state.parameters.set(parameter, seeded.images['al2023-new'] ?? '');
    const run = await ec2.send(
      new RunInstancesCommand({
        LaunchTemplate: { LaunchTemplateId: templateId(), Version: '1' },
        MinCount: 1,
        MaxCount: 1,
      }),
    );
    const id = run.Instances?.[0]?.InstanceId ?? '';
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(described.Reservations?.[0]?.Instances?.[0]?.ImageId).toBe(seeded.images['al2023-new']);
    const direct = await ec2.send(
      new RunInstancesCommand({ ImageId: `resolve:ssm:${parameter}`, MinCount: 1, MaxCount: 1 }),
    );
    expect(direct.Instances?.[0]?.ImageId).toBe(seeded.images['al2023-new']);
  });

  it('refuses a launch whose parameter does not exist', async () => {
    const err = await rejection(
      ec2.send(new RunInstancesCommand({ ImageId: 'resolve:ssm:/no/such', MinCount: 1, MaxCount: 1 })),
    );
    expect(err.name).toBe('InvalidParameterValue');
    expect(err.message).toContain('resolve:ssm:/no/such');
  });

  it('refuses AutoRollback when the group launches a parameter image, even by number', async () => {
    const v2 = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: templateId(),
        SourceVersion: '1',
        LaunchTemplateData: { ImageId: seeded.images['al2023-new'] },
      }),
    );
    const desired = {
      LaunchTemplate: {
        LaunchTemplateId: templateId(),
        Version: String(v2.LaunchTemplateVersion?.VersionNumber),
      },
    };
    const err = await rejection(
      asg.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: 'ssm-asg',
          DesiredConfiguration: desired,
          Preferences: { AutoRollback: true },
        }),
      ),
    );
    expect(err.name).toBe('ValidationError');
    expect(err.message).toContain('Systems Manager parameter');
    // Without AutoRollback the refresh starts.
    const started = await asg.send(
      new StartInstanceRefreshCommand({ AutoScalingGroupName: 'ssm-asg', DesiredConfiguration: desired }),
    );
    expect(started.InstanceRefreshId).toBeTruthy();
    const res = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['ssm-asg'] }));
    expect(res.AutoScalingGroups?.[0]?.AutoScalingGroupName).toBe('ssm-asg');
  });
});
