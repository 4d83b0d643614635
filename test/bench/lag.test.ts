import { describe, expect, it } from 'vitest';
import { DefaultProfile, type GroupFactors } from './fleet.js';
import { groupLags, indexCalls, mentions, parseTimeline, summarizeLags, type GroupTrace } from './lag.js';
import type { CallRecord } from '../sim/index.js';

const one: GroupFactors = { boot: 1, stop: 1, image: 1, refresh: 1 };
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const scale = 0.01;
const p = DefaultProfile;

/** A call answered at T0 + endMs after taking `ms`. */
function call(action: string, endMs: number, params: Record<string, unknown>, ms = 1): CallRecord {
  return {
    seq: 0,
    time: new Date(T0 + endMs).toISOString(),
    service: action.includes('Refresh') ? 'autoscaling' : 'ec2',
    action,
    params,
    outcome: 'ok',
    status: 200,
    ms,
  };
}

const trace: GroupTrace = {
  group: 'bench-asg-0',
  sourceImageId: 'ami-source',
  factors: one,
  launchTemplateId: 'lt-0',
  instanceId: 'i-1',
  amiId: 'ami-new',
  refreshEndedAt: T0 + 9_000,
};
const byId = { Filters: [{ Name: 'instance-id', Values: ['i-1'] }] };

describe('mentions', () => {
  it('finds an id in InstanceIds or in a filter', () => {
    expect(mentions({ InstanceIds: ['i-1'] }, 'i-1')).toBe(true);
    expect(mentions(byId, 'i-1')).toBe(true);
    expect(mentions(byId, 'i-2')).toBe(false);
    expect(mentions({}, 'i-1')).toBe(false);
  });
});

describe('parseTimeline', () => {
  it('reads lanes and spans from the summary gantt', () => {
    const summary = [
      '## asg-rolling deploy',
      '```mermaid',
      'gantt',
      '  dateFormat x',
      '  section ami-source',
      '  launch :done, p0, 1000, 1500',
      '  deploy :crit, p1, 1700, 1900',
      '  section bench-asg-0',
      '  roll :done, p2, 3000, 4000',
      '```',
    ].join('\n');
    expect(parseTimeline(summary)).toEqual([
      { lane: 'ami-source', phase: 'launch', start: 1000, end: 1500 },
      { lane: 'ami-source', phase: 'deploy', start: 1700, end: 1900 },
      { lane: 'bench-asg-0', phase: 'roll', start: 3000, end: 4000 },
    ]);
  });
});

describe('groupLags', () => {
  // RunInstances answered at 0: running at 300 ms (30 s × 0.01), sshd up at 500 ms.
  const running = p.instancePending * scale;
  const sshUp = running + p.sshBoot * scale;
  const calls = indexCalls([
    call('RunInstances', 0, { LaunchTemplate: { LaunchTemplateId: 'lt-0' } }),
    call('DescribeInstances', running - 5, byId), // before running: not the one that saw it
    call('DescribeInstances', running + 15, byId),
    call('StopInstances', sshUp + 140, { InstanceIds: ['i-1'] }, 2),
    call('DescribeInstances', sshUp + 500, byId),
    call('CreateImage', sshUp + 480, { InstanceId: 'i-1' }, 3),
    call('TerminateInstances', 5_000, { InstanceIds: ['i-1'] }, 1),
    call('StartInstanceRefresh', 5_010, { AutoScalingGroupName: 'bench-asg-0' }, 4),
    call('DescribeInstanceRefreshes', 8_990, { AutoScalingGroupName: 'bench-asg-0' }),
    call('DescribeInstanceRefreshes', 9_060, { AutoScalingGroupName: 'bench-asg-0' }),
    call('DescribeInstanceRefreshes', 9_070, { AutoScalingGroupName: 'bench-asg-1' }),
  ]);
  const spans = [
    { lane: 'ami-source', phase: 'ssh', start: T0 + running + 15, end: T0 + sshUp + 8 },
    { lane: 'ami-source', phase: 'deploy', start: T0 + sshUp + 8, end: T0 + sshUp + 136 },
  ];
  const lags = groupLags({
    calls,
    trace,
    spans,
    profile: p,
    timeScale: scale,
    deployMs: 100,
    refreshModelMs: 3_900,
  });

  it('times each detection from the state change to the call that acted on it', () => {
    expect(lags.running).toBeCloseTo(15, 6);
    expect(lags.ssh).toBeCloseTo(8, 6);
    expect(lags.deploy).toBeCloseTo(128 - 100, 6);
    // StopInstances arrived at sshUp + 138.
    expect(lags.afterDeploy).toBeCloseTo(2, 6);
    // Stopped at sshUp + 140 + 300; CreateImage arrived at sshUp + 477.
    expect(lags.stopped).toBeCloseTo(477 - 140 - p.instanceStopping * scale, 6);
    const available = sshUp + 480 + (p.imageBase + p.imageGiB * p.imagePerGiB) * scale;
    expect(lags.image).toBeCloseTo(4_999 - available, 6);
    const responses = (p.api.default ?? 0) * 2 * scale;
    expect(lags.handoff).toBeCloseTo(5_006 - 4_999 - responses, 6);
    // Ended at 9000; the first poll of this group after it answered at 9060.
    expect(lags.refresh).toBeCloseTo(60, 6);
    expect(lags.refreshDrift).toBeCloseTo(9_000 - 5_010 - 3_900, 6);
  });

  it('stops at the first step that never happened', () => {
    const partial = groupLags({
      calls: calls.filter((c) => c.action !== 'CreateImage'),
      trace,
      spans,
      profile: p,
      timeScale: scale,
      deployMs: 100,
      refreshModelMs: 3_900,
    });
    expect(partial.stopped).toBeUndefined();
    expect(partial.refresh).toBeUndefined();
    expect(partial.running).toBeCloseTo(15, 6);
  });

  it('summarizes max and mean over groups, ignoring missing values', () => {
    const summary = summarizeLags([{ running: 10 }, { running: 30 }, {}]);
    expect(summary.running).toEqual({ max: 30, mean: 20 });
    expect(summary.image.max).toBeNaN();
  });
});
