/**
 * Finds the Auto Scaling groups a run acts on. Tag selection is filtered server-side (`tag:Key`
 * filters, all of which must match) and every page is read; names narrow the result further.
 */
import {
  paginateDescribeAutoScalingGroups,
  type AutoScalingGroup,
  type Filter,
} from '@aws-sdk/client-auto-scaling';
import type { AwsClients } from './clients.js';
import type { Selection } from '../config.js';
import { wrapError } from '../errors.js';

/** AWS accepts at most this many names in one DescribeAutoScalingGroups call. */
const NamesPerCall = 50;

/**
 * Every group matching the selection: all tags must match, and when names are given the group must
 * be one of them. Throws when a named group does not exist, since a typo must not pass silently.
 */
export async function findGroups(
  selection: Selection,
  clients: Pick<AwsClients, 'autoScaling'>,
): Promise<AutoScalingGroup[]> {
  const filters: Filter[] = selection.tags.map((tag) => ({ Name: `tag:${tag.key}`, Values: [tag.value] }));
  const found = new Map<string, AutoScalingGroup>();
  const nameBatches = selection.names.length > 0 ? chunk(selection.names, NamesPerCall) : [undefined];
  try {
    for (const names of nameBatches) {
      const pages = paginateDescribeAutoScalingGroups(
        { client: clients.autoScaling, pageSize: 100 },
        {
          ...(names ? { AutoScalingGroupNames: [...names] } : {}),
          ...(filters.length > 0 ? { Filters: filters } : {}),
        },
      );
      for await (const page of pages) {
        for (const group of page.AutoScalingGroups ?? []) {
          if (group.AutoScalingGroupName) found.set(group.AutoScalingGroupName, group);
        }
      }
    }
  } catch (error) {
    throw wrapError('Could not describe the Auto Scaling groups', error);
  }
  if (selection.tags.length === 0) {
    const missing = selection.names.filter((name) => !found.has(name));
    if (missing.length > 0) throw new Error(`Auto Scaling group(s) not found: ${missing.join(', ')}`);
  }
  return [...found.values()].sort((a, b) =>
    (a.AutoScalingGroupName ?? '').localeCompare(b.AutoScalingGroupName ?? ''),
  );
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
