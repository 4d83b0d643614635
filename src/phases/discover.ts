/**
 * From the selection to a plan: the groups, then one DescribeLaunchTemplateVersions per template
 * for every version they use (a bounded number at a time, see launch-templates.ts), then the pure
 * planner.
 */
import type { Selection } from '../config/index.js';
import { buildPlan, versionRequests, type DeployPlan } from './plan.js';
import type { AwsClients } from '../aws/clients.js';
import { findSelectedGroups } from '../aws/groups.js';
import { describeTemplateVersions } from '../aws/launch-templates.js';

/** Describes the selected groups and their templates and plans the run; throws when no group matches. */
export async function discover(selection: Selection, clients: AwsClients): Promise<DeployPlan> {
  const groups = await findSelectedGroups(selection, clients);
  const templates = await describeTemplateVersions(clients.ec2, versionRequests(groups));
  return buildPlan({ groups, templates });
}
