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
  type MixedInstancesPolicy,
} from '@aws-sdk/client-auto-scaling';
import { paginateDescribeLaunchTemplates, type EC2Client } from '@aws-sdk/client-ec2';
import { awsErrorCode, wrapError } from '../lib/errors.js';
import { chunk, GroupNamesPerCall } from './batch.js';

/** DescribeLaunchTemplates pages hold at most 200 templates. */
const TemplatesPerPage = 200;

/** The groups as they stand now, by name (a group that is gone is absent), 50 names a call. */
export async function describeGroups(
  client: AutoScalingClient,
  names: readonly string[],
): Promise<Map<string, AutoScalingGroup>> {
  const found = new Map<string, AutoScalingGroup>();
  try {
    for (const part of chunk([...new Set(names)], GroupNamesPerCall)) {
      const result = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: part }));
      for (const group of result.AutoScalingGroups ?? []) {
        if (group.AutoScalingGroupName) found.set(group.AutoScalingGroupName, group);
      }
    }
  } catch (error) {
    throw wrapError(`Could not describe Auto Scaling groups ${names.join(', ')}`, error);
  }
  return found;
}

/** A template's version numbers now: what `$Default` and `$Latest` resolve to at this moment. */
export interface TemplateVersionNumbers {
  readonly defaultVersion: number | undefined;
  readonly latestVersion: number | undefined;
}

/** AWS's answer when one of the asked launch template ids does not exist: it fails the whole call. */
const MissingTemplateCode = 'InvalidLaunchTemplateId.NotFound';

/**
 * Reads where `$Default` and `$Latest` point for each template, in as few DescribeLaunchTemplates
 * calls as the page size allows. A template that is gone is absent: AWS refuses a whole call for one
 * missing id, so such a call is asked again one template at a time, and only the gone ones drop out.
 */
export async function templateVersionNumbers(
  ec2: EC2Client,
  launchTemplateIds: readonly string[],
): Promise<Map<string, TemplateVersionNumbers>> {
  const found = new Map<string, TemplateVersionNumbers>();
  try {
    for (const part of chunk([...new Set(launchTemplateIds)], TemplatesPerPage)) {
      try {
        await describeTemplatesInto(ec2, part, found);
      } catch (error) {
        if (awsErrorCode(error) !== MissingTemplateCode) throw error;
        // Asked alone, the missing one is simply absent; in a batch, each is asked again alone.
        if (part.length > 1)
          for (const id of part) await describeTemplatesInto(ec2, [id], found).catch(unlessMissing);
      }
    }
  } catch (error) {
    throw wrapError(`Could not describe launch templates ${launchTemplateIds.join(', ')}`, error);
  }
  return found;
}

/** A lone template that is gone is no error: it is simply absent from the answer. */
function unlessMissing(error: unknown): void {
  if (awsErrorCode(error) !== MissingTemplateCode) throw error;
}

async function describeTemplatesInto(
  ec2: EC2Client,
  ids: readonly string[],
  found: Map<string, TemplateVersionNumbers>,
): Promise<void> {
  const pages = paginateDescribeLaunchTemplates({ client: ec2 }, { LaunchTemplateIds: [...ids] });
  for await (const page of pages) {
    for (const t of page.LaunchTemplates ?? []) {
      if (!t.LaunchTemplateId) continue;
      found.set(t.LaunchTemplateId, {
        defaultVersion: t.DefaultVersionNumber,
        latestVersion: t.LatestVersionNumber,
      });
    }
  }
}

/** The launch template spec a group launches from: its own, or its MixedInstancesPolicy's. */
export function groupTemplateSpec(
  group: Pick<AutoScalingGroup, 'LaunchTemplate' | 'MixedInstancesPolicy'>,
): LaunchTemplateSpecification | undefined {
  return group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
}

/**
 * The group's launch template setting with only the template spec replaced, as both
 * UpdateAutoScalingGroup and a refresh's DesiredConfiguration take it. A MixedInstancesPolicy goes
 * back whole, as described, so overrides and the instances distribution stay exactly.
 */
export function withTemplateSpec(
  group: Pick<AutoScalingGroup, 'LaunchTemplate' | 'MixedInstancesPolicy'>,
  spec: { readonly LaunchTemplateId: string; readonly Version: string },
): { LaunchTemplate: LaunchTemplateSpecification } | { MixedInstancesPolicy: MixedInstancesPolicy } {
  const policy = group.MixedInstancesPolicy;
  if (group.LaunchTemplate || !policy) return { LaunchTemplate: { ...spec } };
  return {
    MixedInstancesPolicy: {
      ...policy,
      LaunchTemplate: { ...policy.LaunchTemplate, LaunchTemplateSpecification: { ...spec } },
    },
  };
}

/** Points the group at `spec` (withTemplateSpec); nothing else of the group changes. */
export async function setGroupTemplateReference(
  client: AutoScalingClient,
  group: AutoScalingGroup,
  spec: { readonly LaunchTemplateId: string; readonly Version: string },
): Promise<void> {
  const name = group.AutoScalingGroupName ?? '';
  try {
    await client.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, ...withTemplateSpec(group, spec) }),
    );
  } catch (error) {
    throw wrapError(`Could not update Auto Scaling group ${name}`, error);
  }
}
