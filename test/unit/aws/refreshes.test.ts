import {
  DescribeInstanceRefreshesCommand,
  type DescribeInstanceRefreshesCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  describeRefreshes,
  refreshKey,
  refreshesByGroup,
  refreshPauseMs,
  RefreshPollBudget,
} from '../../../src/aws/refreshes.js';
import { createPollers, DefaultPollIntervals, scalePollIntervals } from '../../../src/phases/context.js';
import { fakeRuntime } from '../../helpers/fakes.js';

describe('refreshPauseMs', () => {
  it('starts a cycle every 10 s up to 100 groups, then stretches it to stay at 10 requests/s', () => {
    for (const groups of [1, 16, 64, 100, 256, 1000]) {
      const periodMs = Math.max(10_000, groups * 100);
      // The pause and the cycle's own spread (50 ms between requests) add up to the period.
      expect(refreshPauseMs(DefaultPollIntervals.refreshMs, groups) + (groups - 1) * 50).toBe(periodMs);
      expect(groups / (periodMs / 1000)).toBeLessThanOrEqual(10);
    }
    expect(refreshPauseMs(DefaultPollIntervals.refreshMs, 256)).toBe(12_850);
  });

  it('scales with the poll scale, so a fast simulator sees the same budget per simulated second', () => {
    const fast = scalePollIntervals(DefaultPollIntervals, 0.02);
    expect(refreshPauseMs(fast.refreshMs, 256)).toBe(257);
    expect(refreshPauseMs(fast.refreshMs, 10)).toBe(191);
  });
});

/** A mocked DescribeInstanceRefreshes that answers after a few ms and records what was in flight. */
function slowRefreshes() {
  const rt = fakeRuntime();
  const mock = mockClient(rt.autoScaling);
  const stats = { inFlight: 0, peak: 0 };
  mock
    .on(DescribeInstanceRefreshesCommand)
    .callsFake(async (input: DescribeInstanceRefreshesCommandInput) => {
      stats.inFlight += 1;
      stats.peak = Math.max(stats.peak, stats.inFlight);
      await new Promise((resolve) => setTimeout(resolve, 3));
      stats.inFlight -= 1;
      return {
        InstanceRefreshes: (input.InstanceRefreshIds ?? []).map((id) => ({
          AutoScalingGroupName: input.AutoScalingGroupName,
          InstanceRefreshId: id,
          Status: 'Successful',
        })),
      };
    });
  return { rt, mock, stats };
}

describe('describeRefreshes', () => {
  const keys = Array.from({ length: 40 }, (_, n) => refreshKey(`group-${n}`, `r-${n}`));

  it('sends one request per group, 50 ms apart and at most ten at once', async () => {
    const { rt, mock, stats } = slowRefreshes();
    const sleeps: number[] = [];
    const found = await describeRefreshes(rt.autoScaling, [...keys, refreshKey('group-0', 'r-old')], {
      periodMs: 10_000,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    expect(stats.peak).toBe(RefreshPollBudget.concurrency);
    expect(found.size).toBe(41);
    const calls = mock.commandCalls(DescribeInstanceRefreshesCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(40);
    expect(calls[0]).toEqual({ AutoScalingGroupName: 'group-0', InstanceRefreshIds: ['r-0', 'r-old'] });
    expect(sleeps).toEqual(Array.from({ length: 39 }, () => 50));
  });

  it("maps a failed group's keys to its error and still describes the others", async () => {
    const rt = fakeRuntime();
    const mock = mockClient(rt.autoScaling);
    mock.on(DescribeInstanceRefreshesCommand).callsFake((input: DescribeInstanceRefreshesCommandInput) => {
      if (input.AutoScalingGroupName === 'broken') throw new Error('AccessDenied: not for this group');
      return {
        InstanceRefreshes: (input.InstanceRefreshIds ?? []).map((id) => ({
          InstanceRefreshId: id,
          Status: 'InProgress',
        })),
      };
    });
    const found = await describeRefreshes(
      rt.autoScaling,
      [refreshKey('broken', 'r-1'), refreshKey('broken', 'r-2'), refreshKey('fine', 'r-3')],
      { periodMs: 10_000, sleep: async () => undefined },
    );
    const failed = found.get(refreshKey('broken', 'r-1'));
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toBe(
      '[broken] Could not describe the Instance Refreshes: AccessDenied: not for this group',
    );
    expect(found.get(refreshKey('broken', 'r-2'))).toBe(failed);
    expect(found.get(refreshKey('fine', 'r-3'))).toEqual({ InstanceRefreshId: 'r-3', Status: 'InProgress' });
  });

  it('sends nothing more once the run is aborted', async () => {
    const { rt, mock } = slowRefreshes();
    const controller = new AbortController();
    let slept = 0;
    await describeRefreshes(rt.autoScaling, keys, {
      periodMs: 10_000,
      signal: controller.signal,
      sleep: async () => {
        slept += 1;
        if (slept === 5) controller.abort(new Error('SIGTERM'));
      },
    });
    expect(mock.commandCalls(DescribeInstanceRefreshesCommand)).toHaveLength(5);
  });

  it('polls a group whose name holds a newline or a colon under its exact name', async () => {
    const { rt, mock } = slowRefreshes();
    const odd = ['web\nr-1', 'a:b', 'tab\tname'];
    const found = await describeRefreshes(
      rt.autoScaling,
      odd.map((group, n) => refreshKey(group, `id-${n}`)),
      { periodMs: 10_000, sleep: async () => undefined },
    );
    const asked = mock.commandCalls(DescribeInstanceRefreshesCommand).map((c) => c.args[0].input);
    expect(asked).toEqual(
      odd.map((group, n) => ({ AutoScalingGroupName: group, InstanceRefreshIds: [`id-${n}`] })),
    );
    expect(found.get(refreshKey('web\nr-1', 'id-0'))).toMatchObject({ Status: 'Successful' });
    expect([...refreshesByGroup([refreshKey('web\nr-1', 'id-0')])]).toEqual([['web\nr-1', ['id-0']]]);
  });

  it('groups the keys by group', () => {
    expect([
      ...refreshesByGroup([refreshKey('a', 'r-1'), refreshKey('b', 'r-2'), refreshKey('a', 'r-3')]),
    ]).toEqual([
      ['a', ['r-1', 'r-3']],
      ['b', ['r-2']],
    ]);
  });
});

describe('the refresh poller', () => {
  it('paces each cycle and waits a period scaled to the groups it watches', async () => {
    const { rt, mock, stats } = slowRefreshes();
    const pollers = createPollers(rt, DefaultPollIntervals);
    const seen = new Set<string>();
    const waits = Array.from({ length: 256 }, (_, n) =>
      pollers.refreshes.waitFor(refreshKey(`group-${n}`, `r-${n}`), {
        // Done at the second look, so there are two cycles over all 256 groups.
        test: () => {
          if (seen.has(`r-${n}`)) return 'done';
          seen.add(`r-${n}`);
          return 'pending';
        },
        timeoutMs: 3_600_000,
        what: `refresh r-${n}`,
      }),
    );
    await Promise.all(waits);
    expect(mock.commandCalls(DescribeInstanceRefreshesCommand)).toHaveLength(512);
    expect(stats.peak).toBeLessThanOrEqual(RefreshPollBudget.concurrency);
    const spacing = Array.from({ length: 255 }, () => 50);
    // The loop starts with the first waiter alone (10 s); the next pause knows all 256 groups.
    expect(rt.clock.sleeps).toEqual([10_000, ...spacing, 12_850, ...spacing]);
  });
});
