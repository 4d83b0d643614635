/**
 * From the selection to a plan: the groups, then one DescribeLaunchTemplateVersions per template
 * for every version they use (a bounded number at a time, see launch-templates.ts), then the pure
 * planner.
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { Selection } from '../config.js';
import { buildPlan, versionRequests, type DeployPlan } from '../plan.js';
import type { AwsClients } from './clients.js';
import { findGroups } from './groups.js';
import { describeTemplateVersions } from './launch-templates.js';

/** Describes the selected groups and their templates and plans the run; throws when no group matches. */
export async function discover(
  selection: Selection,
  clients: AwsClients,
): Promise<{ groups: AutoScalingGroup[]; plan: DeployPlan }> {
  const groups = await findGroups(selection, clients);
  if (groups.length === 0) throw new Error('No Auto Scaling group matches asg-names / asg-tags');
  const templates = await describeTemplateVersions(clients.ec2, versionRequests(groups));
  return { groups, plan: buildPlan({ groups, templates }) };
}
