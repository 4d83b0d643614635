/**
 * `command: wait-idle`: wait until no Instance Refresh is active on the given groups. This is the AWS
 * half of a drain: GitHub's concurrency group already stops new runs of our workflows, but a refresh
 * started earlier keeps replacing instances on AWS after its run has ended (`wait-for-refresh: false`,
 * a cancelled job, someone at the console), and maintenance must not begin while one is still going.
 */
import type { InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import {
  ActiveRefreshStatuses,
  describeActiveRefreshes,
  refreshPauseMs,
  type RefreshPace,
} from '../aws/refreshes.js';
import type { Runtime } from '../aws/clients.js';

export interface WaitIdleOptions {
  /** Group names; an empty list is idle by definition. */
  readonly groups: readonly string[];
  /** How long to wait in total before failing (0: check once). */
  readonly timeoutSeconds: number;
  /** The refresh poll period (PollIntervals.refreshMs): the same pace and budget as a deploy's waits. */
  readonly pollMs: number;
}

/**
 * Resolves once no refresh of any of the groups is active, so a drain can hand the environment over
 * to maintenance. Groups found idle are not polled again until every group is idle; then one more
 * pass over all of them confirms nothing started meanwhile. Throws when the timeout passes, naming
 * each group still busy with its refresh, or when a group cannot be described (a drain must not
 * guess); rejects with the abort reason as soon as `rt.signal` aborts.
 */
export async function waitIdle(options: WaitIdleOptions, rt: Runtime): Promise<void> {
  const groups = [...new Set(options.groups)];
  if (groups.length === 0) {
    rt.log.info('No Auto Scaling groups selected: nothing to wait for.');
    return;
  }
  const pace: RefreshPace = {
    periodMs: Math.max(1, options.pollMs),
    sleep: (ms, signal) => rt.clock.sleep(ms, signal),
    signal: rt.signal,
  };
  const deadline = rt.clock.now() + Math.max(0, options.timeoutSeconds) * 1000;
  const lastSeen = new Map<string, string>();

  let toPoll = groups;
  let polledAll = true;
  let lastBusyNames = '';
  for (;;) {
    rt.signal.throwIfAborted();
    const answers = await describeActiveRefreshes(rt.autoScaling, toPoll, pace);
    rt.signal.throwIfAborted();
    const busy = new Map<string, InstanceRefresh>();
    for (const group of toPoll) {
      const refresh = answers.get(group);
      if (refresh instanceof Error) throw refresh;
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
    toPoll = [...busy.keys()];
    polledAll = toPoll.length === groups.length;
    await rt.clock.sleep(Math.min(refreshPauseMs(pace.periodMs, toPoll.length), remaining), rt.signal);
  }
}

/** Logs a group's state only when it changed, so a long wait does not flood the job log. */
function logChange(args: {
  group: string;
  refresh: InstanceRefresh | undefined;
  lastSeen: Map<string, string>;
  rt: Runtime;
}): void {
  const { group, refresh, lastSeen, rt } = args;
  const log = rt.log.child(group);
  const now = refresh ? describeRefresh(refresh) : 'idle';
  if (lastSeen.get(group) === now) return;
  const before = lastSeen.get(group);
  lastSeen.set(group, now);
  if (refresh && !ActiveRefreshStatuses.has(refresh.Status ?? '')) {
    // A status this version does not know may still move instances: it counts as busy.
    log.warning(
      `Instance Refresh ${refresh.InstanceRefreshId ?? '?'} has unknown status '${refresh.Status ?? ''}'`,
    );
  }
  if (refresh) log.info(`Instance Refresh ${now}`);
  else if (before !== undefined) log.info('No Instance Refresh active any more');
  else log.debug('No Instance Refresh active');
}

function describeRefresh(refresh: InstanceRefresh): string {
  const percentage = refresh.PercentageComplete === undefined ? '' : ` (${refresh.PercentageComplete}%)`;
  return `${refresh.InstanceRefreshId ?? '?'} ${refresh.Status ?? ''}${percentage}`;
}

function describeBusy(busy: ReadonlyMap<string, InstanceRefresh>): string {
  return [...busy.entries()].map(([group, refresh]) => `${group} (${describeRefresh(refresh)})`).join(', ');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
