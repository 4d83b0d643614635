/** Instance Refresh calls. There is no SDK waiter for refreshes; callers poll with BatchPoller. */
import {
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  type AutoScalingClient,
  type DesiredConfiguration,
  type InstanceRefresh,
  type RefreshPreferences,
} from '@aws-sdk/client-auto-scaling';
import { TerminalRefreshStatuses } from '../constants.js';

/** Key of one refresh in the shared poller: the API is per group, so the group comes first. */
export function refreshKey(group: string, refreshId: string): string {
  return `${group}\n${refreshId}`;
}

export interface StartRefreshOptions {
  readonly group: string;
  /** undefined: refresh with the group's current configuration. */
  readonly desired: DesiredConfiguration | undefined;
  readonly preferences: RefreshPreferences;
}

/** Starts a Rolling refresh and returns its id; InstanceRefreshInProgress reaches the caller as is. */
export async function startInstanceRefresh(
  client: AutoScalingClient,
  options: StartRefreshOptions,
): Promise<string> {
  const result = await client.send(
    new StartInstanceRefreshCommand({
      AutoScalingGroupName: options.group,
      Strategy: 'Rolling',
      ...(options.desired ? { DesiredConfiguration: options.desired } : {}),
      Preferences: options.preferences,
    }),
  );
  if (!result.InstanceRefreshId) throw new Error('StartInstanceRefresh returned no id');
  return result.InstanceRefreshId;
}

/** The newest refresh of a group that has not ended, if any (AWS lists newest first). */
export async function findActiveRefresh(
  client: AutoScalingClient,
  group: string,
): Promise<InstanceRefresh | undefined> {
  const result = await client.send(
    new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group, MaxRecords: 10 }),
  );
  return (result.InstanceRefreshes ?? []).find((r) => !TerminalRefreshStatuses.has(r.Status ?? ''));
}

/** Asks AWS to cancel the group's running refresh; returns the id being cancelled. */
export async function cancelInstanceRefresh(
  client: AutoScalingClient,
  group: string,
): Promise<string | undefined> {
  const result = await client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: group }));
  return result.InstanceRefreshId;
}

/**
 * Describes refreshes for the shared poller: one DescribeInstanceRefreshes per group per cycle, with
 * every id polled for that group, keyed by refreshKey.
 */
export async function describeRefreshes(
  client: AutoScalingClient,
  keys: readonly string[],
): Promise<Map<string, InstanceRefresh>> {
  const byGroup = new Map<string, string[]>();
  for (const key of keys) {
    const [group = '', id = ''] = key.split('\n');
    byGroup.set(group, [...(byGroup.get(group) ?? []), id]);
  }
  const found = new Map<string, InstanceRefresh>();
  await Promise.all(
    [...byGroup.entries()].map(async ([group, ids]) => {
      const result = await client.send(
        new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group, InstanceRefreshIds: ids }),
      );
      for (const refresh of result.InstanceRefreshes ?? []) {
        if (refresh.InstanceRefreshId) found.set(refreshKey(group, refresh.InstanceRefreshId), refresh);
      }
    }),
  );
  return found;
}
