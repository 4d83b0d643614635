/**
 * Instance Refresh calls. There is no SDK waiter for refreshes: callers poll, one request per group,
 * within one request budget (RefreshPollBudget) shared by the deploy's waits and wait-idle.
 */
import {
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
  paginateDescribeInstanceRefreshes,
  StartInstanceRefreshCommand,
  type AutoScalingClient,
  type DesiredConfiguration,
  type InstanceRefresh,
  type InstanceRefreshStatus,
  type RefreshPreferences,
} from '@aws-sdk/client-auto-scaling';
import pLimit from 'p-limit';
import { errorMessage, wrapError } from '../lib/errors.js';

/** Statuses after which an Instance Refresh never changes again. Only Successful is success. */
export const TerminalRefreshStatuses: ReadonlySet<string> = new Set([
  'Successful',
  'Failed',
  'Cancelled',
  'RollbackSuccessful',
  'RollbackFailed',
]);

/**
 * Key of one refresh in the shared poller: the API is per group, so the group comes first. The pair
 * is encoded as JSON, not joined with a separator, since a group name may hold any character (a
 * newline included) and must come back exactly as it went in.
 */
export function refreshKey(group: string, refreshId: string): string {
  return JSON.stringify([group, refreshId]);
}

/** The group and refresh id of a refreshKey. */
export function parseRefreshKey(key: string): { readonly group: string; readonly refreshId: string } {
  const [group, refreshId] = JSON.parse(key) as [string, string];
  return { group, refreshId };
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

/** Statuses in which a refresh may still launch, terminate or roll back instances. */
export const ActiveRefreshStatuses: ReadonlySet<string> = new Set<`${InstanceRefreshStatus}`>([
  'Pending',
  'InProgress',
  'Cancelling',
  'RollbackInProgress',
  'Baking',
]);

/** Whether a refresh may still move instances: a status this version does not know counts too. */
export function isActiveRefresh(refresh: InstanceRefresh): boolean {
  const status = refresh.Status ?? '';
  return ActiveRefreshStatuses.has(status) || !TerminalRefreshStatuses.has(status);
}

/** The largest page DescribeInstanceRefreshes accepts. */
const MaxRecords = 100;

/**
 * The group's active refresh, if any (AWS runs one at a time). Every page is read until it is
 * found, since AWS does not promise an order.
 */
export async function findActiveRefresh(
  client: AutoScalingClient,
  group: string,
): Promise<InstanceRefresh | undefined> {
  try {
    const pages = paginateDescribeInstanceRefreshes(
      { client, pageSize: MaxRecords },
      { AutoScalingGroupName: group, MaxRecords },
    );
    for await (const page of pages) {
      const active = (page.InstanceRefreshes ?? []).find(isActiveRefresh);
      if (active) return active;
    }
    return undefined;
  } catch (error) {
    throw wrapError(`[${group}] Could not describe the Instance Refreshes`, error);
  }
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
    const { group, refreshId } = parseRefreshKey(key);
    byGroup.set(group, [...(byGroup.get(group) ?? []), refreshId]);
  }
  return byGroup;
}

/**
 * The refresh poll's share of Auto Scaling's request rate. AWS publishes no Auto Scaling limits; we
 * assume a Describe bucket like EC2's (100 requests, refilling 20/s), as the simulator does. A poll
 * sends one request per group per cycle, so its cost grows with the fleet: on average it spends 100
 * requests per poll period (10/s at the default 10 s), half the refill, leaving the rest to other
 * callers (another run's wait, the console, Terraform). Within a cycle requests start at twice
 * that rate (50 ms apart, the refill itself), ten in flight at most, so even 1000 groups never
 * empty the bucket in one burst. Stated per period, the budget scales with the poll interval.
 */
export const RefreshPollBudget = {
  requestsPerPeriod: 100,
  concurrency: 10,
} as const;

/** How a refresh poll paces its cycles. */
export interface RefreshPace {
  /** The poll period (10 s; scaled down for the simulator): a cycle over 100 groups or fewer. */
  readonly periodMs: number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Once aborted, the requests not yet sent are skipped (nobody waits for them any more). */
  readonly signal?: AbortSignal;
}

/** Between the starts of two requests of one cycle: half a request's share of the period. */
function spacingMs(periodMs: number): number {
  return periodMs / RefreshPollBudget.requestsPerPeriod / 2;
}

/**
 * The pause before the next cycle over `groups` groups: cycles start max(periodMs, groups ×
 * periodMs / 100) apart (10 s up to 100 groups, then N / 10 s), and a cycle spends part of that
 * spacing its own requests.
 */
export function refreshPauseMs(periodMs: number, groups: number): number {
  const cycleMs = Math.max(periodMs, (groups * periodMs) / RefreshPollBudget.requestsPerPeriod);
  return Math.max(1, Math.round(cycleMs - Math.max(0, groups - 1) * spacingMs(periodMs)));
}

/**
 * One request per group, spaced and bounded by the budget. A failed request becomes that group's
 * Error, so one group's trouble never fails the others; once the pace's signal aborts, groups not
 * yet asked are left out.
 */
async function eachGroup<R>(
  groups: readonly string[],
  pace: RefreshPace,
  request: (group: string) => Promise<R>,
): Promise<Map<string, R | Error>> {
  const limit = pLimit(RefreshPollBudget.concurrency);
  const results = new Map<string, R | Error>();
  const sent: Promise<void>[] = [];
  for (const [index, group] of groups.entries()) {
    if (index > 0) await pace.sleep(spacingMs(pace.periodMs), pace.signal).catch(() => undefined);
    if (pace.signal?.aborted) break;
    sent.push(
      limit(async () => {
        try {
          results.set(group, await request(group));
        } catch (error) {
          results.set(group, error instanceof Error ? error : new Error(errorMessage(error)));
        }
      }),
    );
  }
  await Promise.all(sent);
  return results;
}

/**
 * Describes refreshes for the shared poller: one DescribeInstanceRefreshes per group per cycle, with
 * every id polled for that group, keyed by refreshKey. A group whose request failed maps each of its
 * keys to the Error, so only its waiters count the failure.
 */
export async function describeRefreshes(
  client: AutoScalingClient,
  keys: readonly string[],
  pace: RefreshPace,
): Promise<Map<string, InstanceRefresh | Error>> {
  const byGroup = refreshesByGroup(keys);
  const answers = await eachGroup([...byGroup.keys()], pace, async (group) => {
    const result = await client.send(
      new DescribeInstanceRefreshesCommand({
        AutoScalingGroupName: group,
        InstanceRefreshIds: byGroup.get(group) ?? [],
      }),
    );
    return result.InstanceRefreshes ?? [];
  });
  const found = new Map<string, InstanceRefresh | Error>();
  for (const [group, answer] of answers) {
    if (answer instanceof Error) {
      const failed = wrapError(`[${group}] Could not describe the Instance Refreshes`, answer);
      for (const id of byGroup.get(group) ?? []) found.set(refreshKey(group, id), failed);
      continue;
    }
    for (const refresh of answer) {
      if (refresh.InstanceRefreshId) found.set(refreshKey(group, refresh.InstanceRefreshId), refresh);
    }
  }
  return found;
}

/**
 * findActiveRefresh for many groups at the refresh poll's pace: each group's active refresh (or
 * undefined when it is idle), or the Error of its request.
 */
export async function describeActiveRefreshes(
  client: AutoScalingClient,
  groups: readonly string[],
  pace: RefreshPace,
): Promise<Map<string, InstanceRefresh | undefined | Error>> {
  return eachGroup(groups, pace, (group) => findActiveRefresh(client, group));
}
