/**
 * From the selection to a plan: the groups, then one DescribeLaunchTemplateVersions per template
 * for every version they use (a bounded number at a time, see launch-templates.ts), then the pure
 * planner.
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { Selection } from '../config/index.js';
import { buildPlan, versionRequests, type DeployPlan } from './plan.js';
import type { AwsClients } from '../aws/clients.js';
import { findGroups } from '../aws/groups.js';
import { describeTemplateVersions } from '../aws/launch-templates.js';

/** The selection as the user wrote it, for messages. */
function describeSelection(selection: Selection): string {
  const parts: string[] = [];
  if (selection.names.length > 0) parts.push(`asg-names ${selection.names.join(', ')}`);
  if (selection.tags.length > 0)
    parts.push(`asg-tags ${selection.tags.map((t) => `${t.key}=${t.value}`).join(', ')}`);
  return parts.join(' / ') || 'an empty selection';
}

/**
 * The selected groups, for every command. Throws when none matches: a typo in a tag must fail the
 * step, not pass as "nothing to deploy" or a drain that waits for nothing.
 */
export async function findSelectedGroups(
  selection: Selection,
  clients: Pick<AwsClients, 'autoScaling'>,
): Promise<AutoScalingGroup[]> {
  const groups = await findGroups(selection, clients);
  if (groups.length === 0) throw new Error(`No Auto Scaling group matches ${describeSelection(selection)}`);
  return groups;
}

/** Describes the selected groups and their templates and plans the run; throws when no group matches. */
export async function discover(selection: Selection, clients: AwsClients): Promise<DeployPlan> {
  const groups = await findSelectedGroups(selection, clients);
  const templates = await describeTemplateVersions(clients.ec2, versionRequests(groups));
  return buildPlan({ groups, templates });
}
