/**
 * What every stage of a deploy pipeline shares: the config, the runtime, the instance registry,
 * the batch pollers and the timeline. Built once per run by the pipeline; tests build their own.
 */
import type { InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import type { Image, Instance } from '@aws-sdk/client-ec2';
import { describeImages } from '../aws/images.js';
import { describeInstances } from '../aws/instances.js';
import { BatchPoller } from '../aws/poller.js';
import { describeRefreshes, refreshesByGroup } from '../aws/refreshes.js';
import type { Config } from '../config.js';
import type { Runtime } from '../runtime.js';
import type { InstanceRegistry } from '../state.js';
import type { Timeline } from '../timeline.js';

/** How often each kind of resource is polled. */
export interface PollIntervals {
  readonly instanceMs: number;
  readonly imageMs: number;
  /** Between refresh poll cycles, at least (see refreshRequestMs). */
  readonly refreshMs: number;
  /** Between SSH readiness probes of one instance. */
  readonly sshMs: number;
  /**
   * What one DescribeInstanceRefreshes costs of the refresh poll's budget, in (scaled) ms: a cycle
   * over N groups starts every max(refreshMs, N × refreshRequestMs). Unset: every refreshMs, with
   * all of a cycle's requests at once (tests of a handful of groups).
   */
  readonly refreshRequestMs?: number;
}

/**
 * The refresh poll's share of Auto Scaling's request rate. AWS publishes no Auto Scaling limits;
 * we assume a Describe bucket like EC2's (100 requests, refilling 20/s), as the simulator does.
 * The poll sends one request per group per cycle, so its cost grows with the fleet: it may spend
 * on average half the refill (10/s), leaving the rest to other callers (another run's wait, the
 * console, Terraform), and within a cycle it never sends faster than the refill itself (20/s), so
 * even 1000 groups never empty the bucket in one burst. Ten in flight at most.
 */
export const RefreshPollBudget = {
  requestsPerSecond: 10,
  burstPerSecond: 20,
  concurrency: 10,
} as const;

/**
 * SSH is probed every second, as DESIGN asks. Instances change in seconds; a 2 s cycle is one DescribeInstances for the whole fleet, far inside
 * EC2's Describe* bucket (100 tokens, 20/s). AMIs take minutes, so 5 s adds little lag. Refreshes move
 * in minutes and cost one call per group per cycle: 10 s up to 100 groups, then N / 10 s (RefreshPollBudget).
 */
export const DefaultPollIntervals: PollIntervals = {
  instanceMs: 2000,
  imageMs: 5000,
  refreshMs: 10_000,
  sshMs: 1000,
  refreshRequestMs: 1000 / RefreshPollBudget.requestsPerSecond,
};

/** Scales every interval, e.g. 0.01 for a simulator that runs time 100× faster. */
export function scalePollIntervals(intervals: PollIntervals, scale: number): PollIntervals {
  const factor = Number.isFinite(scale) && scale > 0 ? scale : 1;
  return {
    instanceMs: Math.max(1, Math.round(intervals.instanceMs * factor)),
    imageMs: Math.max(1, Math.round(intervals.imageMs * factor)),
    refreshMs: Math.max(1, Math.round(intervals.refreshMs * factor)),
    sshMs: Math.max(1, Math.round(intervals.sshMs * factor)),
    // Not rounded: at a fast time scale it is a fraction of a ms, multiplied by the group count.
    ...(intervals.refreshRequestMs !== undefined
      ? { refreshRequestMs: intervals.refreshRequestMs * factor }
      : {}),
  };
}

/** How the refresh poll spaces one cycle over `groups` groups (all ms). */
export interface RefreshPollPace {
  /** From the start of one cycle to the start of the next: max(refreshMs, groups × refreshRequestMs). */
  readonly periodMs: number;
  /** Between the starts of two requests of one cycle (at the burst rate). */
  readonly spacingMs: number;
  /** The pause before a cycle: the period less the time the cycle itself spends spacing its requests. */
  readonly pauseMs: number;
}

/**
 * The refresh poll's pace for the number of groups being watched: a group is seen once per period,
 * and the poll costs at most RefreshPollBudget.requestsPerSecond on average, however many groups.
 */
export function refreshPollPace(intervals: PollIntervals, groups: number): RefreshPollPace {
  const perRequest = intervals.refreshRequestMs;
  if (perRequest === undefined || perRequest <= 0) {
    return { periodMs: intervals.refreshMs, spacingMs: 0, pauseMs: intervals.refreshMs };
  }
  const periodMs = Math.max(intervals.refreshMs, groups * perRequest);
  const spacingMs = (perRequest * RefreshPollBudget.requestsPerSecond) / RefreshPollBudget.burstPerSecond;
  const spreadMs = Math.max(0, groups - 1) * spacingMs;
  return { periodMs, spacingMs, pauseMs: Math.max(1, Math.round(periodMs - spreadMs)) };
}

export interface Pollers {
  readonly instances: BatchPoller<Instance>;
  readonly images: BatchPoller<Image>;
  readonly refreshes: BatchPoller<InstanceRefresh>;
}

/** One poller per resource kind for the whole run, so every pipeline's waits share its calls. */
export function createPollers(rt: Runtime, intervals: PollIntervals): Pollers {
  const log = rt.log.child('poll');
  return {
    instances: new BatchPoller({
      intervalMs: intervals.instanceMs,
      clock: rt.clock,
      log,
      describe: (ids) => describeInstances(rt.ec2, ids),
    }),
    images: new BatchPoller({
      intervalMs: intervals.imageMs,
      clock: rt.clock,
      log,
      describe: (ids) => describeImages(rt.ec2, ids),
    }),
    refreshes: new BatchPoller({
      intervalMs: (keys) => refreshPollPace(intervals, refreshesByGroup(keys).size).pauseMs,
      clock: rt.clock,
      log,
      describe: (keys) =>
        describeRefreshes(rt.autoScaling, keys, {
          concurrency: RefreshPollBudget.concurrency,
          spacingMs: refreshPollPace(intervals, refreshesByGroup(keys).size).spacingMs,
          sleep: (ms, signal) => rt.clock.sleep(ms, signal),
          signal: rt.signal,
        }),
    }),
  };
}

export interface PipelineContext {
  readonly config: Config;
  readonly rt: Runtime;
  readonly registry: InstanceRegistry;
  readonly pollers: Pollers;
  readonly timeline: Timeline;
  /** The action's version, tagged on what we create. */
  readonly actionVersion: string;
  readonly intervals: PollIntervals;
}
