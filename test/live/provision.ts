/**
 * The acceptance run's own resources, every one tagged `asg-rolling-live:run-id=<id>`: a launch
 * template that follows the public Amazon Linux arm64 parameter, one group of one t4g.nano, and,
 * against AWS, a key pair and a security group for SSH in the default VPC. teardown() deletes all of
 * them, and what the action made for them (AMIs, snapshots, instances), whatever state the run left.
 */
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateSecurityGroupCommand,
  DeleteKeyPairCommand,
  DeleteLaunchTemplateCommand,
  DeleteSecurityGroupCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  ImportKeyPairCommand,
  ModifyLaunchTemplateCommand,
  TerminateInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import type { LiveOptions } from './options.js';

export const RunIdTag = 'asg-rolling-live:run-id';
export const AmazonLinuxArm64 =
  'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64';

export interface Clients {
  readonly ec2: EC2Client;
  readonly autoScaling: AutoScalingClient;
}

/** What was made so far; teardown deletes what is set. */
export interface Provisioned {
  readonly runId: string;
  groupName?: string;
  launchTemplateId?: string;
  keyName?: string;
  securityGroupId?: string;
}

export interface SshAccess {
  readonly user: string;
  readonly privateKey: string;
  readonly port: number;
}

const tags = (runId: string): Tag[] => [{ Key: RunIdTag, Value: runId }];
const tagged = (
  runId: string,
  ResourceType: 'key-pair' | 'security-group' | 'launch-template' | 'instance' | 'volume',
) => ({
  ResourceType,
  Tags: tags(runId),
});

/** The account a launch template's CreatedBy ARN names. */
export function accountOf(arn: string | undefined): string | undefined {
  return /^arn:aws[\w-]*:iam::(\d{12}):/.exec(arn ?? '')?.[1];
}

/** AWS only: the default VPC's default subnets, where the group runs when none are given. */
async function defaultSubnets(ec2: EC2Client): Promise<string[]> {
  const found = await ec2.send(
    new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }),
  );
  const ids = (found.Subnets ?? []).flatMap((s) => (s.SubnetId ? [s.SubnetId] : []));
  if (ids.length === 0) throw new Error('the account has no default VPC subnets: pass --subnets');
  return ids;
}

/** AWS only: a key pair from `publicKey` and a security group open on port 22 to `sshCidr`. */
async function sshAccessOnAws(
  ec2: EC2Client,
  made: Provisioned,
  options: LiveOptions,
  publicKey: string,
): Promise<void> {
  const name = `asg-rolling-live-${made.runId}`;
  await ec2.send(
    new ImportKeyPairCommand({
      KeyName: name,
      PublicKeyMaterial: new TextEncoder().encode(publicKey),
      TagSpecifications: [tagged(made.runId, 'key-pair')],
    }),
  );
  made.keyName = name;
  const vpcs = await ec2.send(
    new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }),
  );
  const vpcId = vpcs.Vpcs?.[0]?.VpcId;
  if (!vpcId) throw new Error('the account has no default VPC');
  const group = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: name,
      Description: 'asg-rolling acceptance run: SSH to its instances',
      VpcId: vpcId,
      TagSpecifications: [tagged(made.runId, 'security-group')],
    }),
  );
  made.securityGroupId = group.GroupId;
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: group.GroupId,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: options.sshCidr }] },
      ],
    }),
  );
}

/**
 * Creates the template and the group (and on AWS the SSH access). The template comes first, and
 * is free: the account that owns it is checked before anything that costs money is made.
 */
export async function provision(
  clients: Clients,
  made: Provisioned,
  options: LiveOptions,
  publicKey: string,
): Promise<void> {
  const { ec2, autoScaling } = clients;
  const name = `asg-rolling-live-${made.runId}`;
  const template = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      VersionDescription: 'asg-rolling acceptance run',
      LaunchTemplateData: {
        ImageId: AmazonLinuxArm64,
        InstanceType: 't4g.nano',
        TagSpecifications: [tagged(made.runId, 'instance'), tagged(made.runId, 'volume')],
      },
      TagSpecifications: [tagged(made.runId, 'launch-template')],
    }),
  );
  made.launchTemplateId = template.LaunchTemplate?.LaunchTemplateId;
  if (options.target === 'aws') {
    const owner = accountOf(template.LaunchTemplate?.CreatedBy);
    if (owner !== options.account) {
      throw new Error(
        `the credentials are for account ${owner ?? '?'}, not ASG_ROLLING_LIVE_ACCOUNT ${options.account ?? '?'}`,
      );
    }
    await sshAccessOnAws(ec2, made, options, publicKey);
    const withSsh = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: made.launchTemplateId,
        SourceVersion: '1',
        LaunchTemplateData: { KeyName: made.keyName, SecurityGroupIds: [made.securityGroupId ?? ''] },
      }),
    );
    await ec2.send(
      new ModifyLaunchTemplateCommand({
        LaunchTemplateId: made.launchTemplateId,
        DefaultVersion: String(withSsh.LaunchTemplateVersion?.VersionNumber),
      }),
    );
  }
  const subnets = options.subnets.length > 0 ? options.subnets : await defaultSubnets(ec2);
  await autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateId: made.launchTemplateId, Version: '$Default' },
      MinSize: 1,
      MaxSize: 2,
      DesiredCapacity: 1,
      VPCZoneIdentifier: subnets.join(','),
      Tags: [{ Key: RunIdTag, Value: made.runId, PropagateAtLaunch: true }],
    }),
  );
  made.groupName = name;
}

/** Polls `check` every `everyMs` until it is true or `limitMs` passed; says whether it became true. */
export async function until(
  check: () => Promise<boolean>,
  limitMs: number,
  everyMs: number,
): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

async function liveInstances(ec2: EC2Client, runId: string): Promise<string[]> {
  const found = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: `tag:${RunIdTag}`, Values: [runId] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    }),
  );
  return (found.Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
}

/**
 * Deletes everything of the run, each step on its own so one failure does not keep the rest; returns
 * what could not be deleted (empty when all is gone). `pollMs` paces the waits for AWS to let go.
 */
export async function teardown(clients: Clients, made: Provisioned, pollMs: number): Promise<string[]> {
  const { ec2, autoScaling } = clients;
  const left: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      left.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const group = made.groupName;
  if (group) {
    await step(`group ${group}`, async () => {
      await autoScaling.send(
        new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: group, ForceDelete: true }),
      );
      const gone = await until(
        async () =>
          (
            (await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] })))
              .AutoScalingGroups ?? []
          ).length === 0,
        15 * 60_000,
        pollMs,
      );
      if (!gone) throw new Error('still there after 15 minutes');
    });
  }
  // Instances with the run's tag: the group's, and the action's temporary ones (the template tags them).
  await step('instances', async () => {
    const ids = await liveInstances(ec2, made.runId);
    if (ids.length > 0) await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  });
  if (made.launchTemplateId) {
    const templateId = made.launchTemplateId;
    await step('AMIs and snapshots', async () => {
      const images = await ec2.send(
        new DescribeImagesCommand({
          Owners: ['self'],
          Filters: [{ Name: 'tag-key', Values: ['asg-rolling:managed'] }],
        }),
      );
      for (const image of images.Images ?? []) {
        const ours = image.Tags?.some(
          (t) => t.Key === 'asg-rolling:launch-templates' && t.Value?.includes(templateId),
        );
        if (ours && image.ImageId)
          await ec2.send(
            new DeregisterImageCommand({ ImageId: image.ImageId, DeleteAssociatedSnapshots: true }),
          );
      }
    });
    await step(`launch template ${templateId}`, () =>
      ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: templateId })),
    );
  }
  if (made.securityGroupId) {
    const groupId = made.securityGroupId;
    await step(`security group ${groupId}`, async () => {
      // A security group goes only once no instance uses it any more.
      await until(async () => (await liveInstances(ec2, made.runId)).length === 0, 10 * 60_000, pollMs);
      await until(
        () =>
          ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })).then(
            () => true,
            () => false,
          ),
        5 * 60_000,
        pollMs,
      );
    });
  }
  if (made.keyName) {
    const keyName = made.keyName;
    await step(`key pair ${keyName}`, () => ec2.send(new DeleteKeyPairCommand({ KeyName: keyName })));
  }
  return left;
}
