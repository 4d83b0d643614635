/**
 * `command: wait-idle`: wait until no Instance Refresh is active on the given groups. This is the AWS
 * half of a drain: GitHub's concurrency group already stops new runs of our workflows, but a refresh
 * started earlier keeps replacing instances on AWS after its run has ended (`wait-for-refresh: false`,
 * a cancelled job, someone at the console), and maintenance must not begin while one is still going.
 */
import {
  paginateDescribeInstanceRefreshes,
  type InstanceRefresh,
  type InstanceRefreshStatus,
} from '@aws-sdk/client-auto-scaling';
import pLimit from 'p-limit';
import { TerminalRefreshStatuses } from '../constants.js';
import { wrapError } from '../errors.js';
import type { Runtime } from '../runtime.js';

/** Statuses in which a refresh may still launch, terminate or roll back instances. */
export const ActiveRefreshStatuses: ReadonlySet<string> = new Set<`${InstanceRefreshStatus}`>([
  'Pending',
  'InProgress',
  'Cancelling',
  'RollbackInProgress',
  'Baking',
]);

/**
 * Ten seconds: a refresh lasts minutes, so the detection lag is small, while one poll per busy group
 * every ten seconds stays far below the Auto Scaling API's request rate even for a hundred groups.
 */
export const DefaultPollSeconds = 10;

/** How many groups are described at once in one poll round. */
const DefaultMaxParallel = 8;

/** The largest page DescribeInstanceRefreshes accepts. */
const MaxRecords = 100;

export interface WaitIdleOptions {
  /** Group names; an empty list is idle by definition. */
  readonly groups: readonly string[];
  /** How long to wait in total before failing (0: check once). */
  readonly timeoutSeconds: number;
  /** Seconds between polls of the groups that are still busy. */
  readonly pollSeconds?: number;
  /** Groups described at once (the run's `max-parallel`). */
  readonly maxParallel?: number;
}

/** One refresh that keeps a group busy. */
interface ActiveRefresh {
  readonly id: string;
  readonly status: string;
  readonly percentage: number | undefined;
}

/**
 * Resolves once no refresh of any of the groups is active, so a drain can hand the environment over
 * to maintenance. Groups found idle are not polled again until every group is idle; then one more
 * pass over all of them confirms nothing started meanwhile. Throws when the timeout passes, naming
 * each group still busy with its refresh; rejects with the abort reason as soon as `rt.signal` aborts.
 */
export async function waitIdle(options: WaitIdleOptions, rt: Runtime): Promise<void> {
  const groups = [...new Set(options.groups)];
  if (groups.length === 0) {
    rt.log.info('No Auto Scaling groups selected: nothing to wait for.');
    return;
  }
  const pollMs = Math.max(0, (options.pollSeconds ?? DefaultPollSeconds) * 1000);
  const deadline = rt.clock.now() + Math.max(0, options.timeoutSeconds) * 1000;
  const limit = pLimit(Math.max(1, options.maxParallel ?? DefaultMaxParallel));
  const lastSeen = new Map<string, string>();

  let toPoll = groups;
  let polledAll = true;
  let lastBusyNames = '';
  for (;;) {
    rt.signal.throwIfAborted();
    const results = await Promise.all(
      toPoll.map((group) => limit(async () => [group, await activeRefresh(group, rt)] as const)),
    );
    const busy = new Map<string, ActiveRefresh>();
    for (const [group, refresh] of results) {
      if (refresh) busy.set(group, refresh);
      logChange({ group, refresh, lastSeen, rt });
    }
    if (busy.size === 0) {
      if (polledAll) {
        rt.log.info(`No Instance Refresh is active on ${plural(groups.length, 'group')}.`);
        return;
      }
      // Every group was idle at some point; one pass over all of them shows they are idle together.
      toPoll = groups;
      polledAll = true;
      continue;
    }
    // Per-group progress is logged on change above; this line only when the set of busy groups changes.
    const busyNames = [...busy.keys()].join(', ');
    if (busyNames !== lastBusyNames) {
      rt.log.info(`Waiting for the Instance Refreshes of ${plural(busy.size, 'group')}: ${busyNames}`);
      lastBusyNames = busyNames;
    }
    const remaining = deadline - rt.clock.now();
    if (remaining <= 0) {
      throw new Error(
        `Instance Refreshes still active after ${options.timeoutSeconds} s on ${plural(busy.size, 'group')}: ${describeBusy(busy)}`,
      );
    }
    await rt.clock.sleep(Math.min(pollMs, remaining), rt.signal);
    toPoll = [...busy.keys()];
    polledAll = toPoll.length === groups.length;
  }
}

/** The group's active refresh, if any; every page is read, since AWS does not promise an order. */
async function activeRefresh(group: string, rt: Runtime): Promise<ActiveRefresh | undefined> {
  const log = rt.log.child(group);
  let found: InstanceRefresh | undefined;
  try {
    const pages = paginateDescribeInstanceRefreshes(
      { client: rt.autoScaling, pageSize: MaxRecords },
      { AutoScalingGroupName: group, MaxRecords },
    );
    for await (const page of pages) {
      for (const refresh of page.InstanceRefreshes ?? []) {
        const status = refresh.Status ?? '';
        if (ActiveRefreshStatuses.has(status)) found ??= refresh;
        else if (!TerminalRefreshStatuses.has(status)) {
          // A status this version does not know may still move instances: count it as busy.
          log.warning(`Instance Refresh ${refresh.InstanceRefreshId ?? '?'} has unknown status '${status}'`);
          found ??= refresh;
        }
      }
    }
  } catch (error) {
    throw wrapError(`[${group}] Could not describe the Instance Refreshes`, error);
  }
  if (!found) return undefined;
  return {
    id: found.InstanceRefreshId ?? '?',
    status: found.Status ?? '',
    percentage: found.PercentageComplete,
  };
}

/** Logs a group's state only when it changed, so a long wait does not flood the job log. */
function logChange(args: {
  group: string;
  refresh: ActiveRefresh | undefined;
  lastSeen: Map<string, string>;
  rt: Runtime;
}): void {
  const { group, refresh, lastSeen, rt } = args;
  const now = refresh ? describeRefresh(refresh) : 'idle';
  if (lastSeen.get(group) === now) return;
  const before = lastSeen.get(group);
  lastSeen.set(group, now);
  if (refresh) rt.log.child(group).info(`Instance Refresh ${now}`);
  else if (before !== undefined) rt.log.child(group).info('No Instance Refresh active any more');
  else rt.log.child(group).debug('No Instance Refresh active');
}

function describeRefresh(refresh: ActiveRefresh): string {
  const percentage = refresh.percentage === undefined ? '' : ` (${refresh.percentage}%)`;
  return `${refresh.id} ${refresh.status}${percentage}`;
}

function describeBusy(busy: ReadonlyMap<string, ActiveRefresh>): string {
  return [...busy.entries()].map(([group, refresh]) => `${group} (${describeRefresh(refresh)})`).join(', ');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
