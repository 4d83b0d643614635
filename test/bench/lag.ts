/**
 * Where the time beyond the ideal goes. From the simulator's call log and the latency model we know
 * when each resource reached its next state (the simulator scheduled it when it answered the call
 * that started it), and when the action acted on it (its next request); the difference is the
 * stage's detection lag, which a poll interval bounds. Everything is pure, for unit tests.
 */
import type { CallRecord } from '../sim/index.js';
import type { GroupFactors, LatencyProfile } from './fleet.js';

/** One phase of one pipeline from the action's own timeline (its job summary's gantt). */
export interface TimelineSpan {
  readonly lane: string;
  readonly phase: string;
  readonly start: number;
  readonly end: number;
}

/** Reads the spans back from the summary's Mermaid gantt (`section <lane>`, `<phase> :done, pN, start, end`). */
export function parseTimeline(summary: string): TimelineSpan[] {
  const spans: TimelineSpan[] = [];
  let lane = '';
  for (const line of summary.split('\n')) {
    const section = /^\s*section (.+)$/.exec(line);
    if (section) {
      lane = (section[1] ?? '').trim();
      continue;
    }
    const task = /^\s*(\S[^:]*?)\s*:(?:done|crit), p\d+, (\d+), (\d+)\s*$/.exec(line);
    if (task) spans.push({ lane, phase: task[1] ?? '', start: Number(task[2]), end: Number(task[3]) });
  }
  return spans;
}

/** One pipeline's identities, from the action's outputs and the simulator's state. */
export interface GroupTrace {
  readonly group: string;
  /** The source image: the lane of the image stages in the timeline. */
  readonly sourceImageId: string;
  readonly factors: GroupFactors;
  readonly launchTemplateId: string;
  /** The temporary instance. */
  readonly instanceId: string;
  /** The new AMI. */
  readonly amiId: string;
  /** When the simulator ended the group's refresh (epoch ms). */
  readonly refreshEndedAt: number | undefined;
}

/** Lags of one group, real ms (each may be undefined when a step never happened). */
export interface GroupLags {
  /** `running` reached → the DescribeInstances that saw it. */
  readonly running?: number;
  /** sshd up (or the action's SSH wait began, if later) → the wait ended: the probe's lag. */
  readonly ssh?: number;
  /** The deploy took this much longer than one deploy alone: SSH and CPU contention on this machine. */
  readonly deploy?: number;
  /** Deploy ended → StopInstances sent. */
  readonly afterDeploy?: number;
  /** `stopped` reached → CreateImage sent. */
  readonly stopped?: number;
  /** AMI `available` → the temporary instance's TerminateInstances sent. */
  readonly image?: number;
  /** TerminateInstances sent → StartInstanceRefresh sent, minus their two responses: waiting for a slot. */
  readonly handoff?: number;
  /** Refresh ended → the DescribeInstanceRefreshes that saw it. */
  readonly refresh?: number;
  /** Refresh ended (real) minus started, over what the model says: the simulator's own timer lateness. */
  readonly refreshDrift?: number;
}

export const LagNames = [
  'running',
  'ssh',
  'deploy',
  'afterDeploy',
  'stopped',
  'image',
  'handoff',
  'refresh',
] as const;
export type LagName = (typeof LagNames)[number];

interface Call {
  readonly action: string;
  readonly params: Record<string, unknown>;
  readonly ok: boolean;
  /** When the simulator answered (its handler ran just before). */
  readonly end: number;
  /** When the request arrived. */
  readonly start: number;
}

/** The call log with times as numbers, oldest answer first. */
export function indexCalls(calls: readonly CallRecord[]): Call[] {
  return calls
    .map((c) => {
      const end = Date.parse(c.time);
      return { action: c.action, params: c.params, ok: c.outcome === 'ok', end, start: end - c.ms };
    })
    .sort((a, b) => a.end - b.end);
}

const at = (value: unknown, key: string): unknown =>
  value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Whether a request names the id, in `InstanceIds` or in a filter's values (`instance-id`). */
export function mentions(params: Record<string, unknown>, id: string): boolean {
  if (list(params.InstanceIds).includes(id)) return true;
  return list(params.Filters).some((filter) => list(at(filter, 'Values')).includes(id));
}

function first(calls: readonly Call[], action: string, test: (c: Call) => boolean): Call | undefined {
  return calls.find((c) => c.ok && c.action === action && test(c));
}

/** The lags of one group's pipeline. */
export function groupLags(options: {
  readonly calls: readonly Call[];
  readonly trace: GroupTrace;
  readonly spans: readonly TimelineSpan[];
  readonly profile: LatencyProfile;
  readonly timeScale: number;
  readonly deployMs: number;
  /** Real ms the model gives the refresh after StartInstanceRefresh answered. */
  readonly refreshModelMs: number;
}): GroupLags {
  const { calls, trace, profile: p, timeScale: scale } = options;
  const f = trace.factors;
  const lags: { -readonly [K in keyof GroupLags]: GroupLags[K] } = {};
  const run = first(
    calls,
    'RunInstances',
    (c) => at(c.params.LaunchTemplate, 'LaunchTemplateId') === trace.launchTemplateId,
  );
  if (!run) return lags;
  const running = run.end + p.instancePending * f.boot * scale;
  const sawRunning = first(
    calls,
    'DescribeInstances',
    (c) => c.end >= running && mentions(c.params, trace.instanceId),
  );
  if (sawRunning) lags.running = sawRunning.end - running;
  const sshUp = running + p.sshBoot * f.boot * scale;
  const stop = first(calls, 'StopInstances', (c) => mentions(c.params, trace.instanceId));
  if (!stop) return lags;
  const span = (phase: string): TimelineSpan | undefined =>
    options.spans.find((x) => x.lane === trace.sourceImageId && x.phase === phase);
  const ssh = span('ssh');
  const deploy = span('deploy');
  if (ssh) lags.ssh = ssh.end - Math.max(ssh.start, sshUp);
  if (deploy) {
    lags.deploy = deploy.end - deploy.start - options.deployMs;
    lags.afterDeploy = stop.start - deploy.end;
  }
  const stopped = stop.end + p.instanceStopping * f.stop * scale;
  const create = first(calls, 'CreateImage', (c) => c.params.InstanceId === trace.instanceId);
  if (!create) return lags;
  lags.stopped = create.start - stopped;
  const available = create.end + (p.imageBase + p.imageGiB * p.imagePerGiB) * f.image * scale;
  const terminate = first(
    calls,
    'TerminateInstances',
    (c) => c.start >= create.end && mentions(c.params, trace.instanceId),
  );
  if (!terminate) return lags;
  lags.image = terminate.start - available;
  const start = first(calls, 'StartInstanceRefresh', (c) => c.params.AutoScalingGroupName === trace.group);
  if (!start) return lags;
  const responses =
    ((p.api.TerminateInstances ?? p.api.default ?? 0) +
      (p.api.CreateLaunchTemplateVersion ?? p.api.default ?? 0)) *
    scale;
  lags.handoff = start.start - terminate.start - responses;
  const ended = trace.refreshEndedAt;
  if (ended === undefined) return lags;
  lags.refreshDrift = ended - start.end - options.refreshModelMs;
  const sawEnd = first(
    calls,
    'DescribeInstanceRefreshes',
    (c) => c.end >= ended && c.params.AutoScalingGroupName === trace.group,
  );
  if (sawEnd) lags.refresh = sawEnd.end - ended;
  return lags;
}

/** Max and mean of each lag over the groups (real ms), skipping groups where it is missing. */
export function summarizeLags(
  all: readonly GroupLags[],
): Record<LagName | 'refreshDrift', { max: number; mean: number }> {
  const names = [...LagNames, 'refreshDrift'] as const;
  return Object.fromEntries(
    names.map((name) => {
      const values = all.map((l) => l[name]).filter((v): v is number => v !== undefined);
      const max = values.length ? Math.max(...values) : Number.NaN;
      const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
      return [name, { max, mean }];
    }),
  ) as Record<LagName | 'refreshDrift', { max: number; mean: number }>;
}
