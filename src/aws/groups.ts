/**
 * Finds the Auto Scaling groups a run acts on. Tag selection is filtered server-side (`tag:Key`
 * filters, all of which must match) and every page is read; names narrow the result further. The
 * same rules also pick the selection out of groups already described, so a caller that needs every
 * group of the account does not describe the selected ones a second time.
 */
import {
  paginateDescribeAutoScalingGroups,
  type AutoScalingGroup,
  type Filter,
} from '@aws-sdk/client-auto-scaling';
import type { AwsClients } from './clients.js';
import type { Selection } from '../config/index.js';
import { wrapError } from '../lib/errors.js';
import { chunk, GroupNamesPerCall } from './batch.js';

/**
 * Every group matching the selection: all tags must match, and when names are given the group must
 * be one of them. Throws when a named group does not exist, since a typo must not pass silently.
 */
export async function findGroups(
  selection: Selection,
  clients: Pick<AwsClients, 'autoScaling'>,
): Promise<AutoScalingGroup[]> {
  const filters: Filter[] = selection.tags.map((tag) => ({ Name: `tag:${tag.key}`, Values: [tag.value] }));
  const found: AutoScalingGroup[] = [];
  const nameBatches = selection.names.length > 0 ? chunk(selection.names, GroupNamesPerCall) : [undefined];
  try {
    for (const names of nameBatches) {
      const pages = paginateDescribeAutoScalingGroups(
        { client: clients.autoScaling, pageSize: 100 },
        {
          ...(names ? { AutoScalingGroupNames: [...names] } : {}),
          ...(filters.length > 0 ? { Filters: filters } : {}),
        },
      );
      for await (const page of pages) found.push(...(page.AutoScalingGroups ?? []));
    }
  } catch (error) {
    throw wrapError('Could not describe the Auto Scaling groups', error);
  }
  // The tags were matched by AWS: only the names are left to check.
  return byNames(found, selection);
}

/**
 * The groups of `groups` that match the selection, by the rules of findGroups (all tags, one of the
 * names; a named group missing is an error when no tags are given), sorted by name.
 */
export function selectGroups(groups: readonly AutoScalingGroup[], selection: Selection): AutoScalingGroup[] {
  const matching = groups.filter((group) =>
    selection.tags.every((want) =>
      (group.Tags ?? []).some((tag) => tag.Key === want.key && tag.Value === want.value),
    ),
  );
  return byNames(matching, selection);
}

/** Narrows to the selection's names (when any), throws for a missing name, sorts by name. */
function byNames(groups: readonly AutoScalingGroup[], selection: Selection): AutoScalingGroup[] {
  const names = new Set(selection.names);
  const found = new Map<string, AutoScalingGroup>();
  for (const group of groups) {
    const name = group.AutoScalingGroupName;
    if (name && (names.size === 0 || names.has(name))) found.set(name, group);
  }
  if (selection.tags.length === 0) {
    const missing = selection.names.filter((name) => !found.has(name));
    if (missing.length > 0) throw new Error(`Auto Scaling group(s) not found: ${missing.join(', ')}`);
  }
  return [...found.values()].sort((a, b) =>
    (a.AutoScalingGroupName ?? '').localeCompare(b.AutoScalingGroupName ?? ''),
  );
}

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
