// Auto Scaling group model: which launch template a group (or a refresh) launches from, launching a
// group instance from it, and whether an instance already runs that configuration.
import type {
  AutoScalingGroup,
  DesiredConfiguration,
  Instance as GroupInstance,
  LaunchTemplateSpecification,
} from '@aws-sdk/client-auto-scaling';

import { validation } from './errors.js';
import { launchInstance } from './instances.js';
import { resolveImageId } from './parameters.js';
import type { InstanceRecord } from './state.js';
import { resolveVersion } from './templates.js';
import type { World } from './world.js';

/** The launch template spec a group or desired configuration designates (LT or MixedInstancesPolicy). */
export function specOf(
  config: Pick<AutoScalingGroup, 'LaunchTemplate' | 'MixedInstancesPolicy'> | DesiredConfiguration,
): LaunchTemplateSpecification | undefined {
  return config.LaunchTemplate ?? config.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
}

/** Resolves a spec to a concrete (id, name, numeric version); EC2 lookup errors become ValidationError. */
export function resolveSpec(
  world: World,
  spec: LaunchTemplateSpecification | undefined,
): Required<Pick<LaunchTemplateSpecification, 'LaunchTemplateId' | 'LaunchTemplateName' | 'Version'>> & {
  imageId?: string;
  instanceType?: string;
} {
  if (!spec) throw validation('The group has no launch template: launch configurations are not simulated.');
  try {
    const { record, version } = resolveVersion(world, spec);
    return {
      LaunchTemplateId: record.template.LaunchTemplateId ?? '',
      LaunchTemplateName: record.template.LaunchTemplateName ?? '',
      Version: String(version.VersionNumber),
      imageId: version.LaunchTemplateData?.ImageId,
      instanceType: version.LaunchTemplateData?.InstanceType,
    };
  } catch (err) {
    throw validation(`You must use a valid fully-formed launch template. ${(err as Error).message}`);
  }
}

export function matchesSpec(
  member: GroupInstance,
  resolved: { LaunchTemplateId: string; Version: string },
): boolean {
  return (
    member.LaunchTemplate?.LaunchTemplateId === resolved.LaunchTemplateId &&
    member.LaunchTemplate?.Version === resolved.Version
  );
}

/** Launches one instance into the group from spec (default: the group's own configuration). */
export function launchGroupInstance(
  world: World,
  group: AutoScalingGroup,
  opts: { spec?: LaunchTemplateSpecification; running?: boolean } = {},
): InstanceRecord {
  const resolved = resolveSpec(world, opts.spec ?? specOf(group));
  if (!resolved.imageId) throw validation('The launch template has no ImageId.');
  const subnets = (group.VPCZoneIdentifier ?? '').split(',').filter(Boolean);
  // Spread members over the group's subnets, as Auto Scaling balances zones.
  const subnetId = subnets.length ? subnets[(group.Instances?.length ?? 0) % subnets.length] : undefined;
  const record = launchInstance(world, {
    imageId: resolveImageId(world, resolved.imageId),
    reservationId: world.state.id('r'),
    instanceType: resolved.instanceType,
    subnetId,
    groupName: group.AutoScalingGroupName,
    tags: [
      ...(group.Tags ?? []).filter((t) => t.PropagateAtLaunch).map((t) => ({ Key: t.Key, Value: t.Value })),
      // EC2 tags every instance launched from a launch template with the template and version used.
      { Key: 'aws:ec2launchtemplate:id', Value: resolved.LaunchTemplateId },
      { Key: 'aws:ec2launchtemplate:version', Value: resolved.Version },
    ],
    launchTemplate: resolved,
    running: opts.running,
  });
  const { LaunchTemplateId, LaunchTemplateName, Version } = resolved;
  (group.Instances ??= []).push({
    InstanceId: record.instance.InstanceId,
    InstanceType: record.instance.InstanceType,
    AvailabilityZone: record.instance.Placement?.AvailabilityZone,
    LifecycleState: opts.running ? 'InService' : 'Pending',
    HealthStatus: 'Healthy',
    LaunchTemplate: { LaunchTemplateId, LaunchTemplateName, Version },
    ProtectedFromScaleIn: false,
  });
  return record;
}

/** Members that count toward capacity (not on their way out). */
export const liveMembers = (group: AutoScalingGroup): GroupInstance[] =>
  (group.Instances ?? []).filter(
    (i) => i.LifecycleState !== 'Terminating' && i.LifecycleState !== 'Terminated',
  );
