/**
 * Pure: what a temporary instance's RunInstances must add to the group's launch template version so
 * that it launches like one of the group's own instances. Auto Scaling fills in what a template may
 * leave out (the instance type from a MixedInstancesPolicy, the subnet from VPCZoneIdentifier);
 * RunInstances does not, and falls back to defaults no group would use (m1.small, which boots no
 * arm64 image; a default subnet of the default VPC, or a refusal without one).
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type {
  LaunchTemplateInstanceNetworkInterfaceSpecification,
  LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';

export interface LaunchSettings {
  /** Sent only when the template names no type: the policy's first override that names one. */
  readonly instanceType: string | undefined;
  /**
   * The template's network interfaces, to send again with the group's subnet on the primary one
   * (AWS refuses interfaces beside an instance-level subnet); empty when the template has none.
   */
  readonly networkInterfaces: readonly LaunchTemplateInstanceNetworkInterfaceSpecification[];
  /** The group's subnets in order; empty when the template pins an existing interface. */
  readonly subnetIds: readonly string[];
}

/** The settings a group's temporary instance launches with, or why no instance type can be chosen. */
export function launchSettingsOf(
  group: AutoScalingGroup,
  version: LaunchTemplateVersion,
): LaunchSettings | { readonly error: string } {
  const data = version.LaunchTemplateData;
  const interfaces = data?.NetworkInterfaces ?? [];
  // An interface that already exists lives in its own subnet: the group's cannot be applied to it.
  const pinned = interfaces.some((i) => i.NetworkInterfaceId);
  const subnetIds = pinned ? [] : subnetsOf(group);
  if (data?.InstanceType) return { instanceType: undefined, networkInterfaces: interfaces, subnetIds };
  const overrides = group.MixedInstancesPolicy?.LaunchTemplate?.Overrides ?? [];
  const typed = overrides.find((o) => o.InstanceType && !o.LaunchTemplateSpecification);
  if (typed?.InstanceType)
    return { instanceType: typed.InstanceType, networkInterfaces: interfaces, subnetIds };
  if (overrides.some((o) => o.InstanceRequirements)) {
    return {
      error:
        'chooses its instance types by attributes (InstanceRequirements) and its launch template names no InstanceType, so no type can be chosen for the temporary instance; add an InstanceType to the launch template or an InstanceType override to the group',
    };
  }
  // A group without a type anywhere cannot launch either; RunInstances answers for itself.
  return { instanceType: undefined, networkInterfaces: interfaces, subnetIds };
}

function subnetsOf(group: AutoScalingGroup): string[] {
  return (group.VPCZoneIdentifier ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
