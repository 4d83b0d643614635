/**
 * Calls the per-use policies must refuse, each with the requests AWS would authorize (built by the
 * same code as the allowed ones) and which of them must be denied. Resources are taken from the
 * simulated account after the runs: a group's own instance, the base image and its snapshot, the
 * launch template nobody marked deployable, the `legacy` group without the tag.
 */
import type { Tag } from '@aws-sdk/client-ec2';
import { DeployableTag, requestsFor, requestTags, resourceTags, type AuthRequest } from './iam-context.js';
import type { Use } from './iam-policies.js';
import type { ObservedCall } from '../sim/index.js';
import type { State } from '../sim/state.js';

export interface DeniedCase {
  readonly use: Use;
  readonly name: string;
  readonly requests: readonly AuthRequest[];
  /** `action why` of every request that must be denied (the others are allowed). */
  readonly deniedBecause: readonly string[];
}

const ours = (role: string): Tag[] => [
  { Key: 'asg-rolling:managed', Value: 'true' },
  { Key: 'asg-rolling:role', Value: role },
];
const specs = (types: string[], tags: Tag[]) => types.map((ResourceType) => ({ ResourceType, Tags: tags }));

export function deniedCases(state: State): DeniedCase[] {
  const ec2 = (action: string, params: Record<string, unknown>): ObservedCall => ({
    service: 'ec2',
    action,
    params,
  });
  const asg = (action: string, params: Record<string, unknown>): ObservedCall => ({
    service: 'autoscaling',
    action,
    params,
  });
  const build = (call: ObservedCall): AuthRequest[] => requestsFor(call, state);

  const groupInstance = [...state.instances.values()].find(
    (r) => r.groupName === 'shop-web' && r.instance.State?.Name === 'running',
  )?.instance;
  const baseImage = [...state.images.values()].find((i) => i.Name === 'base-web');
  const baseSnapshot = baseImage?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
  const web = state.templateByName('lt-web')?.template.LaunchTemplateId;
  const other = state.templateByName('lt-other')?.template.LaunchTemplateId;
  if (!groupInstance?.InstanceId || !baseImage?.ImageId || !baseSnapshot || !web || !other)
    throw new Error('the denied cases need the fixture resources');
  const instanceArn = `arn:aws:ec2:${state.region}:${state.accountId}:instance/${groupInstance.InstanceId}`;
  const launch = (template: string, tags: Tag[], extra: Record<string, unknown> = {}): ObservedCall =>
    ec2('RunInstances', {
      LaunchTemplate: { LaunchTemplateId: template, Version: '1' },
      MinCount: 1,
      MaxCount: 1,
      SubnetId: 'subnet-0aaaa000000000001',
      TagSpecifications: specs(['instance', 'volume'], tags),
      ...extra,
    });

  const cases: DeniedCase[] = [];
  const add = (uses: Use[], name: string, requests: AuthRequest[], deniedBecause: string[]): void => {
    for (const use of uses) cases.push({ use, name, requests, deniedBecause });
  };
  const imageTags = specs(['image', 'snapshot'], ours('ami'));

  add(
    ['deploy', 'split'],
    'CreateImage of a group instance (untagged)',
    build(
      ec2('CreateImage', { InstanceId: groupInstance.InstanceId, Name: 'x', TagSpecifications: imageTags }),
    ),
    ['ec2:CreateImage instance'],
  );
  add(
    ['deploy', 'split'],
    'CreateImage without our tags on image and snapshot',
    build(ec2('CreateImage', { InstanceId: groupInstance.InstanceId, Name: 'x' })),
    ['ec2:CreateImage image', 'ec2:CreateImage instance', 'ec2:CreateImage snapshot'],
  );
  for (const action of ['TerminateInstances', 'StopInstances'])
    add(
      ['deploy', 'split', 'cleanup'].filter(
        (u) => u !== 'cleanup' || action === 'TerminateInstances',
      ) as Use[],
      `${action} of a group instance (untagged)`,
      build(ec2(action, { InstanceIds: [groupInstance.InstanceId] })),
      [`ec2:${action} instance`],
    );
  add(
    ['deploy', 'split'],
    'RunInstances without the managed request tag',
    build(launch(web, [{ Key: 'Name', Value: 'x' }])),
    [
      'ec2:CreateTags TagSpecifications (instance)',
      'ec2:CreateTags TagSpecifications (volume)',
      'ec2:RunInstances instance',
      'ec2:RunInstances volume',
    ],
  );
  add(['deploy', 'split'], 'RunInstances without any tags', build(launch(web, [])), [
    'ec2:RunInstances instance',
    'ec2:RunInstances volume',
  ]);
  add(
    ['deploy', 'split'],
    'RunInstances from a template that is not deployable',
    build(launch(other, ours('temporary-instance'))),
    ['ec2:RunInstances launch-template'],
  );
  add(
    ['deploy', 'split'],
    'RunInstances of another image than the template names',
    build(launch(web, ours('temporary-instance'), { ImageId: baseImage.ImageId })),
    ['ec2:RunInstances image'],
  );
  add(
    ['deploy', 'split'],
    'RunInstances without a launch template',
    build(
      ec2('RunInstances', {
        ImageId: baseImage.ImageId,
        MinCount: 1,
        MaxCount: 1,
        SubnetId: 'subnet-0aaaa000000000001',
        TagSpecifications: specs(['instance', 'volume'], ours('temporary-instance')),
      }),
    ),
    [
      'ec2:RunInstances image',
      'ec2:RunInstances instance',
      'ec2:RunInstances network-interface',
      'ec2:RunInstances subnet',
      'ec2:RunInstances volume',
    ],
  );
  add(
    ['deploy', 'split'],
    'RunInstances that puts the deployable tag on what it creates',
    build(
      launch(web, [...ours('temporary-instance'), { Key: DeployableTag.key, Value: DeployableTag.value }]),
    ),
    ['ec2:CreateTags TagSpecifications (instance)', 'ec2:CreateTags TagSpecifications (volume)'],
  );
  for (const action of [
    'CreateLaunchTemplateVersion',
    'ModifyLaunchTemplate',
    'DeleteLaunchTemplateVersions',
  ])
    add(
      action === 'DeleteLaunchTemplateVersions' ? ['deploy', 'split', 'cleanup'] : ['deploy', 'split'],
      `${action} on a template that is not deployable`,
      build(
        ec2(action, { LaunchTemplateId: other, SourceVersion: '1', DefaultVersion: '1', Versions: ['1'] }),
      ),
      [`ec2:${action} launch-template`],
    );
  add(
    ['deploy', 'split'],
    'UpdateAutoScalingGroup of a group that is not deployable (to zero)',
    build(
      asg('UpdateAutoScalingGroup', {
        AutoScalingGroupName: 'legacy',
        MinSize: 0,
        MaxSize: 0,
        DesiredCapacity: 0,
      }),
    ),
    ['autoscaling:UpdateAutoScalingGroup autoScalingGroup'],
  );
  add(
    ['deploy', 'split'],
    'UpdateAutoScalingGroup pointing a deployable group at a template that is not',
    build(
      asg('UpdateAutoScalingGroup', {
        AutoScalingGroupName: 'shop-web',
        LaunchTemplate: { LaunchTemplateId: other, Version: '1' },
      }),
    ),
    ['ec2:RunInstances the group is pointed at this launch template'],
  );
  for (const action of ['StartInstanceRefresh', 'CancelInstanceRefresh'])
    add(
      ['deploy', 'split', 'refresh'],
      `${action} of a group that is not deployable`,
      build(asg(action, { AutoScalingGroupName: 'legacy' })),
      [`autoscaling:${action} autoScalingGroup`],
    );
  add(
    ['wait-idle'],
    'StartInstanceRefresh of a deployable group (wait-idle only reads)',
    build(asg('StartInstanceRefresh', { AutoScalingGroupName: 'shop-web' })),
    ['autoscaling:StartInstanceRefresh autoScalingGroup'],
  );
  add(
    ['cleanup'],
    'CreateImage (cleanup never bakes)',
    build(ec2('CreateImage', { InstanceId: groupInstance.InstanceId, TagSpecifications: imageTags })),
    [
      'ec2:CreateImage image',
      'ec2:CreateImage instance',
      'ec2:CreateImage snapshot',
      'ec2:CreateTags TagSpecifications (image)',
      'ec2:CreateTags TagSpecifications (snapshot)',
    ],
  );
  const retag: AuthRequest = {
    action: 'ec2:CreateTags',
    resource: instanceArn,
    context: { ...resourceTags(groupInstance.Tags), ...requestTags(ours('temporary-instance')) },
    why: 'tagging an existing instance',
  };
  add(
    ['deploy', 'split', 'cleanup'],
    'CreateTags outside RunInstances and CreateImage',
    [retag],
    ['ec2:CreateTags tagging an existing instance'],
  );
  add(
    ['deploy', 'split', 'cleanup'],
    'DeregisterImage of an image that is not ours',
    build(ec2('DeregisterImage', { ImageId: baseImage.ImageId, DeleteAssociatedSnapshots: true })),
    ['ec2:DeleteSnapshot DeleteAssociatedSnapshots', 'ec2:DeregisterImage image'],
  );
  add(
    ['deploy', 'split', 'cleanup'],
    'DeleteSnapshot of a snapshot that is not ours',
    build(ec2('DeleteSnapshot', { SnapshotId: baseSnapshot })),
    ['ec2:DeleteSnapshot snapshot'],
  );
  const passRole = (role: string, service: string): AuthRequest => ({
    action: 'iam:PassRole',
    resource: `arn:aws:iam::${state.accountId}:role/${role}`,
    context: { 'iam:PassedToService': service },
    why: `${role} to ${service}`,
  });
  add(
    ['deploy', 'split'],
    'iam:PassRole of another role',
    [passRole('admin', 'ec2.amazonaws.com')],
    ['iam:PassRole admin to ec2.amazonaws.com'],
  );
  add(
    ['deploy', 'split'],
    'iam:PassRole of the instance role to another service',
    [passRole('shop-instances', 'lambda.amazonaws.com')],
    ['iam:PassRole shop-instances to lambda.amazonaws.com'],
  );
  add(
    ['cleanup', 'refresh', 'wait-idle'],
    'iam:PassRole of the instance role (only launches pass it)',
    [passRole('shop-instances', 'ec2.amazonaws.com')],
    ['iam:PassRole shop-instances to ec2.amazonaws.com'],
  );
  return cases;
}
