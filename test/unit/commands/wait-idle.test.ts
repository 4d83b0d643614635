import {
  AutoScalingClient,
  DescribeInstanceRefreshesCommand,
  type DescribeInstanceRefreshesCommandInput,
  type InstanceRefresh,
} from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ActiveRefreshStatuses, RefreshPollBudget } from '../../../src/aws/refreshes.js';
import { waitIdle } from '../../../src/commands/wait-idle.js';
import type { Clock, Logger } from '../../../src/lib/runtime.js';
import type { Runtime } from '../../../src/aws/clients.js';

/** A clock whose sleeps return at once and move virtual time, recording every sleep. */
function fakeClock(): Clock & { sleeps: number[]; elapsed(): number } {
  const start = 1_000_000;
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    elapsed: () => now - start,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      now += ms;
    },
  };
}

function recordingLogger(lines: string[], prefix = ''): Logger {
  const line = (level: string, message: string): void => {
    lines.push(`${level} ${prefix ? `[${prefix}] ` : ''}${message}`);
  };
  return {
    info: (m) => line('info', m),
    warning: (m) => line('warning', m),
    error: (m) => line('error', m),
    debug: (m) => line('debug', m),
    child: (p) => recordingLogger(lines, prefix ? `${prefix}/${p}` : p),
  };
}

const autoScaling = new AutoScalingClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const ec2 = new EC2Client({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const asMock = mockClient(autoScaling);

afterEach(() => asMock.reset());

function runtime(options: { signal?: AbortSignal } = {}) {
  const clock = fakeClock();
  const lines: string[] = [];
  const rt: Runtime = {
    autoScaling,
    ec2,
    clock,
    log: recordingLogger(lines),
    signal: options.signal ?? new AbortController().signal,
  };
  return { rt, clock, lines };
}

function refresh(id: string, status: string, percentage?: number): InstanceRefresh {
  return {
    InstanceRefreshId: id,
    Status: status as InstanceRefresh['Status'],
    PercentageComplete: percentage,
  };
}

/** Answers each group from a script: the n-th call for a group gets the n-th entry (the last one repeats). */
function scripted(script: Record<string, InstanceRefresh[][]>): Map<string, number> {
  const calls = new Map<string, number>();
  asMock.on(DescribeInstanceRefreshesCommand).callsFake((input: DescribeInstanceRefreshesCommandInput) => {
    const group = input.AutoScalingGroupName ?? '';
    const n = calls.get(group) ?? 0;
    calls.set(group, n + 1);
    const answers = script[group] ?? [[]];
    return { InstanceRefreshes: answers[Math.min(n, answers.length - 1)] };
  });
  return calls;
}

function describedGroups(): string[] {
  return asMock
    .commandCalls(DescribeInstanceRefreshesCommand)
    .map((c) => c.args[0].input.AutoScalingGroupName ?? '');
}

describe('waitIdle', () => {
  it('returns without a call when no group is selected', async () => {
    const { rt, clock } = runtime();
    await waitIdle({ groups: [], timeoutSeconds: 60, pollMs: 10_000 }, rt);
    expect(asMock.calls()).toHaveLength(0);
    expect(clock.sleeps).toHaveLength(0);
  });

  it('returns after one pass when every group is idle, asking for full pages', async () => {
    const { rt, clock } = runtime();
    scripted({
      a: [[refresh('r1', 'Successful')]],
      b: [[refresh('r2', 'RollbackSuccessful'), refresh('r0', 'Failed')]],
    });
    await waitIdle({ groups: ['a', 'b', 'a'], timeoutSeconds: 60, pollMs: 10_000 }, rt);
    expect(describedGroups()).toEqual(['a', 'b']);
    for (const call of asMock.commandCalls(DescribeInstanceRefreshesCommand)) {
      expect(call.args[0].input.MaxRecords).toBe(100);
    }
    // Only the spacing between the two requests of the pass (the refresh poll's 50 ms).
    expect(clock.sleeps).toEqual([50]);
  });

  it.each([...ActiveRefreshStatuses])('waits while a refresh is %s', async (status) => {
    const { rt, clock } = runtime();
    scripted({ a: [[refresh('r1', status)], [refresh('r1', status)], [refresh('r1', 'Successful')]] });
    await waitIdle({ groups: ['a'], timeoutSeconds: 600, pollMs: 5000 }, rt);
    expect(clock.sleeps).toEqual([5000, 5000]);
    expect(describedGroups()).toEqual(['a', 'a', 'a']);
  });

  it('re-polls only busy groups, then confirms all groups together', async () => {
    const { rt, clock, lines } = runtime();
    scripted({
      idle: [[]],
      busy: [
        [refresh('r9', 'InProgress', 10)],
        [refresh('r9', 'InProgress', 60)],
        [refresh('r9', 'Successful')],
      ],
    });
    await waitIdle({ groups: ['idle', 'busy'], timeoutSeconds: 600, pollMs: 7000 }, rt);
    // Round 1: both; rounds 2 and 3: only the busy one; round 4: the confirming pass over both.
    expect(describedGroups().filter((g) => g === 'busy')).toHaveLength(4);
    expect(describedGroups().filter((g) => g === 'idle')).toHaveLength(2);
    // 35 ms: the spacing of a pass over two groups; 7 s: the pause before the busy group's next look.
    expect(clock.sleeps).toEqual([35, 7000, 7000, 35]);
    expect(lines).toContain('info [busy] Instance Refresh r9 InProgress (10%)');
    expect(lines).toContain('info [busy] Instance Refresh r9 InProgress (60%)');
    expect(lines).toContain('info [busy] No Instance Refresh active any more');
    expect(lines.filter((l) => l.startsWith('info Waiting for'))).toEqual([
      'info Waiting for the Instance Refreshes of 1 group: busy',
    ]);
  });

  it('keeps waiting when a group found idle earlier has started a refresh meanwhile', async () => {
    const { rt, clock } = runtime();
    scripted({
      a: [[], [refresh('late', 'Pending')], [refresh('late', 'Successful')]],
      b: [[refresh('r1', 'InProgress')], []],
    });
    await waitIdle({ groups: ['a', 'b'], timeoutSeconds: 600, pollMs: 3000 }, rt);
    // b busy -> b idle -> confirm: a busy (late) -> a idle -> confirm over both.
    expect(describedGroups()).toEqual(['a', 'b', 'b', 'a', 'b', 'a', 'a', 'b']);
    expect(clock.sleeps).toEqual([15, 3000, 15, 3000, 15]);
  });

  it('reads every page of refreshes', async () => {
    const { rt, clock } = runtime();
    let call = 0;
    asMock.on(DescribeInstanceRefreshesCommand).callsFake((input: DescribeInstanceRefreshesCommandInput) => {
      call += 1;
      if (call === 1) return { InstanceRefreshes: [refresh('new', 'Successful')], NextToken: 'p2' };
      if (call === 2) {
        expect(input.NextToken).toBe('p2');
        return { InstanceRefreshes: [refresh('old', 'InProgress')] };
      }
      return { InstanceRefreshes: [] };
    });
    await waitIdle({ groups: ['a'], timeoutSeconds: 60, pollMs: 1000 }, rt);
    expect(call).toBe(3);
    expect(clock.sleeps).toEqual([1000]);
  });

  it('counts an unknown status as busy and warns', async () => {
    const { rt, lines } = runtime();
    scripted({ a: [[refresh('r1', 'Defragmenting')], []] });
    await waitIdle({ groups: ['a'], timeoutSeconds: 60, pollMs: 1000 }, rt);
    expect(describedGroups()).toHaveLength(2);
    expect(lines).toContain("warning [a] Instance Refresh r1 has unknown status 'Defragmenting'");
  });

  it('fails after the timeout naming each group still busy, never sleeping past it', async () => {
    const { rt, clock } = runtime();
    scripted({ a: [[refresh('ra', 'InProgress', 40)]], b: [[]], c: [[refresh('rc', 'Baking', 100)]] });
    await expect(
      waitIdle({ groups: ['a', 'b', 'c'], timeoutSeconds: 25, pollMs: 10_000 }, rt),
    ).rejects.toThrow(
      'Instance Refreshes still active after 25 s on 2 groups: a (ra InProgress (40%)), c (rc Baking (100%))',
    );
    // Each pass over a and c spends 50 ms spacing its requests; the pauses fill the period up to
    // 10 s, and the last one stops at the deadline.
    expect(clock.sleeps).toEqual([50, 50, 9950, 50, 9950, 50, 4900, 50]);
    expect(clock.elapsed()).toBe(25_050);
  });

  it('checks once with a zero timeout', async () => {
    const { rt, clock } = runtime();
    scripted({ a: [[refresh('ra', 'Pending')]] });
    await expect(waitIdle({ groups: ['a'], timeoutSeconds: 0, pollMs: 10_000 }, rt)).rejects.toThrow(
      /on 1 group: a \(ra Pending\)/,
    );
    expect(clock.sleeps).toHaveLength(0);
  });

  it('stops waiting as soon as the run is aborted', async () => {
    const controller = new AbortController();
    const { rt } = runtime({ signal: controller.signal });
    let calls = 0;
    asMock.on(DescribeInstanceRefreshesCommand).callsFake(() => {
      calls += 1;
      if (calls === 2) controller.abort(new Error('SIGTERM'));
      return { InstanceRefreshes: [refresh('r', 'InProgress')] };
    });
    await expect(waitIdle({ groups: ['a'], timeoutSeconds: 3600, pollMs: 1000 }, rt)).rejects.toThrow(
      'SIGTERM',
    );
    expect(calls).toBe(2);
  });

  it('names the group when AWS refuses the call', async () => {
    const { rt } = runtime();
    asMock.on(DescribeInstanceRefreshesCommand).rejects(new Error('AccessDenied: not authorized'));
    await expect(waitIdle({ groups: ['shop-web'], timeoutSeconds: 60, pollMs: 10_000 }, rt)).rejects.toThrow(
      '[shop-web] Could not describe the Instance Refreshes: AccessDenied: not authorized',
    );
  });

  it("describes at most ten groups at once, like the deploy's refresh poll", async () => {
    const { rt } = runtime();
    let inFlight = 0;
    let peak = 0;
    asMock.on(DescribeInstanceRefreshesCommand).callsFake(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return { InstanceRefreshes: [] };
    });
    const groups = Array.from({ length: 24 }, (_, i) => `g${i}`);
    await waitIdle({ groups, timeoutSeconds: 60, pollMs: 10_000 }, rt);
    expect(peak).toBe(RefreshPollBudget.concurrency);
    expect(describedGroups()).toHaveLength(24);
  });
});
