/**
 * The calls that give a group its own launch template reference back after a refresh: AWS saves a
 * refresh's desired configuration on the group, so a group that followed `$Default` or `$Latest`
 * ends up naming our version by number until we set the reference again.
 */
import {
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingClient,
  type AutoScalingGroup,
  type LaunchTemplateSpecification,
  type UpdateAutoScalingGroupType,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplatesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { wrapError } from '../errors.js';

/** The group as it stands now (undefined once it is gone), read again because a refresh changed it. */
export async function describeGroup(
  client: AutoScalingClient,
  name: string,
): Promise<AutoScalingGroup | undefined> {
  try {
    const result = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
    return result.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === name);
  } catch (error) {
    throw wrapError(`Could not describe Auto Scaling group ${name}`, error);
  }
}

/** A template's version numbers now: what `$Default` and `$Latest` resolve to at this moment. */
export interface TemplateVersionNumbers {
  readonly defaultVersion: number | undefined;
  readonly latestVersion: number | undefined;
}

/** Reads where `$Default` and `$Latest` point, in one DescribeLaunchTemplates call. */
export async function templateVersionNumbers(
  ec2: EC2Client,
  launchTemplateId: string,
): Promise<TemplateVersionNumbers> {
  try {
    const result = await ec2.send(
      new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [launchTemplateId] }),
    );
    const template = result.LaunchTemplates?.find((t) => t.LaunchTemplateId === launchTemplateId);
    if (!template) throw new Error('not found');
    return { defaultVersion: template.DefaultVersionNumber, latestVersion: template.LatestVersionNumber };
  } catch (error) {
    throw wrapError(`Could not describe launch template ${launchTemplateId}`, error);
  }
}

/** The launch template spec a group launches from: its own, or its MixedInstancesPolicy's. */
export function groupTemplateSpec(group: AutoScalingGroup): LaunchTemplateSpecification | undefined {
  return group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
}

/**
 * The update that swaps only the group's template spec. A MixedInstancesPolicy goes back whole, as
 * described, with only its spec replaced, so overrides and the instances distribution stay exactly.
 */
export function referenceUpdate(
  group: AutoScalingGroup,
  spec: { readonly LaunchTemplateId: string; readonly Version: string },
): UpdateAutoScalingGroupType {
  const name = group.AutoScalingGroupName ?? '';
  const policy = group.MixedInstancesPolicy;
  if (group.LaunchTemplate || !policy) return { AutoScalingGroupName: name, LaunchTemplate: { ...spec } };
  return {
    AutoScalingGroupName: name,
    MixedInstancesPolicy: {
      ...policy,
      LaunchTemplate: { ...policy.LaunchTemplate, LaunchTemplateSpecification: { ...spec } },
    },
  };
}

/** Sends the update of referenceUpdate; nothing else of the group changes. */
export async function setGroupTemplateReference(
  client: AutoScalingClient,
  group: AutoScalingGroup,
  spec: { readonly LaunchTemplateId: string; readonly Version: string },
): Promise<void> {
  try {
    await client.send(new UpdateAutoScalingGroupCommand(referenceUpdate(group, spec)));
  } catch (error) {
    throw wrapError(`Could not update Auto Scaling group ${group.AutoScalingGroupName ?? ''}`, error);
  }
}
