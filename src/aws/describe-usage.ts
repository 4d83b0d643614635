/**
 * What else may use our resources, beyond groups, templates and instances: who an AMI is shared
 * with (another account launches from it where we cannot see), and the instances waiting in warm
 * pools (not among a group's Instances, yet launched from a version and an image). Each describe is
 * paginated and wrapped with what was being read.
 */
import { paginateDescribeWarmPool, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { DescribeImageAttributeCommand, type LaunchPermission } from '@aws-sdk/client-ec2';
import pLimit from 'p-limit';
import { wrapError } from '../lib/errors.js';
import type { Runtime } from './clients.js';
import type { ImageInfo, WarmPoolInstance } from './resources.js';

/** DescribeImageAttribute takes one image a call: a few at once stays well under EC2's rate. */
const AttributeConcurrency = 4;

type Clients = Pick<Runtime, 'ec2' | 'autoScaling'>;

/**
 * Image id → who besides this account may launch it (`public`, `account 1111…`, `organization arn:…`),
 * for the given images; an image nobody else may launch is absent. A public image is known from
 * DescribeImages already; the others need their launchPermission attribute.
 */
export async function describeSharing(
  images: readonly ImageInfo[],
  rt: Clients,
): Promise<Record<string, string[]>> {
  const sharing: Record<string, string[]> = {};
  const limit = pLimit(AttributeConcurrency);
  await Promise.all(
    images.map((image) =>
      limit(async () => {
        let permissions: LaunchPermission[];
        try {
          const out = await rt.ec2.send(
            new DescribeImageAttributeCommand({ ImageId: image.id, Attribute: 'launchPermission' }),
          );
          permissions = out.LaunchPermissions ?? [];
        } catch (error) {
          throw wrapError(`Could not read who may launch ${image.id}`, error);
        }
        const who = [
          ...new Set([...(image.public ? ['public'] : []), ...permissions.map(describePermission)]),
        ];
        if (who.length > 0) sharing[image.id] = who;
      }),
    ),
  );
  return sharing;
}

function describePermission(permission: LaunchPermission): string {
  if (permission.Group === 'all') return 'public';
  if (permission.UserId) return `account ${permission.UserId}`;
  if (permission.OrganizationArn) return `organization ${permission.OrganizationArn}`;
  if (permission.OrganizationalUnitArn) return `organizational unit ${permission.OrganizationalUnitArn}`;
  return 'another principal';
}

/** The instances in the warm pools of the groups that have one (WarmPoolConfiguration set). */
export async function describeWarmPoolInstances(
  groups: readonly AutoScalingGroup[],
  rt: Clients,
): Promise<WarmPoolInstance[]> {
  const found: WarmPoolInstance[] = [];
  for (const group of groups) {
    const name = group.AutoScalingGroupName;
    if (!name || !group.WarmPoolConfiguration) continue;
    try {
      const pages = paginateDescribeWarmPool(
        { client: rt.autoScaling, pageSize: 100 },
        { AutoScalingGroupName: name },
      );
      for await (const page of pages) {
        for (const instance of page.Instances ?? []) {
          if (!instance.InstanceId) continue;
          found.push({
            group: name,
            instanceId: instance.InstanceId,
            launchTemplateId: instance.LaunchTemplate?.LaunchTemplateId,
            launchTemplateName: instance.LaunchTemplate?.LaunchTemplateName,
            version: instance.LaunchTemplate?.Version,
          });
        }
      }
    } catch (error) {
      throw wrapError(`Could not describe the warm pool of group ${name}`, error);
    }
  }
  return found;
}
