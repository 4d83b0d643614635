/**
 * What every stage of a deploy pipeline shares: the config, the runtime, the instance registry,
 * the batch pollers and the timeline. Built once per run by commands/context.ts; tests build their own.
 */
import type { InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import type { Image, Instance } from '@aws-sdk/client-ec2';
import { describeImages } from '../aws/images.js';
import { describeInstances } from '../aws/instances.js';
import { BatchPoller } from '../aws/poller.js';
import { describeRefreshes, refreshesByGroup, refreshPauseMs } from '../aws/refreshes.js';
import type { Config } from '../config/index.js';
import type { Runtime } from '../aws/clients.js';
import type { InstanceRegistry } from './instance-registry.js';
import type { Timeline } from '../report/timeline.js';

/** How often each kind of resource is polled. */
export interface PollIntervals {
  readonly instanceMs: number;
  readonly imageMs: number;
  /** The refresh poll's period while it watches at most 100 groups; it stretches past that (RefreshPollBudget). */
  readonly refreshMs: number;
  /** Between SSH readiness probes of one instance. */
  readonly sshMs: number;
}

/**
 * SSH is probed every second: a readiness probe is one small TCP connection. Instances change in seconds; a 2 s cycle is one
 * DescribeInstances for the whole fleet, far inside EC2's Describe* bucket (100 tokens, 20/s). AMIs
 * take minutes, so 5 s adds little lag. Refreshes move in minutes and cost one call per group per
 * cycle: 10 s up to 100 groups, then N / 10 s (RefreshPollBudget).
 */
export const DefaultPollIntervals: PollIntervals = {
  instanceMs: 2000,
  imageMs: 5000,
  refreshMs: 10_000,
  sshMs: 1000,
};

/** Scales every interval, e.g. 0.01 for a simulator that runs time 100× faster. */
export function scalePollIntervals(intervals: PollIntervals, scale: number): PollIntervals {
  const factor = Number.isFinite(scale) && scale > 0 ? scale : 1;
  return {
    instanceMs: Math.max(1, Math.round(intervals.instanceMs * factor)),
    imageMs: Math.max(1, Math.round(intervals.imageMs * factor)),
    refreshMs: Math.max(1, Math.round(intervals.refreshMs * factor)),
    sshMs: Math.max(1, Math.round(intervals.sshMs * factor)),
  };
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
      intervalMs: (keys) => refreshPauseMs(intervals.refreshMs, refreshesByGroup(keys).size),
      clock: rt.clock,
      log,
      describe: (keys) =>
        describeRefreshes(rt.autoScaling, keys, {
          periodMs: intervals.refreshMs,
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
