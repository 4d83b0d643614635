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
import pLimit from 'p-limit';
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

/** The refresh keys grouped by group: DescribeInstanceRefreshes takes one group and many ids. */
export function refreshesByGroup(keys: readonly string[]): Map<string, string[]> {
  const byGroup = new Map<string, string[]>();
  for (const key of keys) {
    const [group = '', id = ''] = key.split('\n');
    byGroup.set(group, [...(byGroup.get(group) ?? []), id]);
  }
  return byGroup;
}

/** How one poll cycle spreads its requests, so a large fleet never sends them in one burst. */
export interface RefreshCyclePace {
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Least time between the starts of two requests of the cycle. */
  readonly spacingMs: number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Once aborted, the requests not yet sent are skipped (nobody waits for them any more). */
  readonly signal?: AbortSignal;
}

/**
 * Describes refreshes for the shared poller: one DescribeInstanceRefreshes per group per cycle, with
 * every id polled for that group, keyed by refreshKey. With a pace, the requests start `spacingMs`
 * apart, at most `concurrency` at once; without one, all at once.
 */
export async function describeRefreshes(
  client: AutoScalingClient,
  keys: readonly string[],
  pace?: RefreshCyclePace,
): Promise<Map<string, InstanceRefresh>> {
  const found = new Map<string, InstanceRefresh>();
  const limit = pLimit(pace?.concurrency ?? Number.POSITIVE_INFINITY);
  await Promise.all(
    [...refreshesByGroup(keys).entries()].map(async ([group, ids], index) => {
      if (pace && index > 0 && pace.spacingMs > 0) {
        await pace.sleep(index * pace.spacingMs, pace.signal).catch(() => undefined);
      }
      if (pace?.signal?.aborted) return;
      await limit(async () => {
        const result = await client.send(
          new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group, InstanceRefreshIds: ids }),
        );
        for (const refresh of result.InstanceRefreshes ?? []) {
          if (refresh.InstanceRefreshId) found.set(refreshKey(group, refresh.InstanceRefreshId), refresh);
        }
      });
    }),
  );
  return found;
}
