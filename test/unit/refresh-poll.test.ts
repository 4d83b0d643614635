import {
  DescribeInstanceRefreshesCommand,
  type DescribeInstanceRefreshesCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { describeRefreshes, refreshKey, refreshesByGroup } from '../../src/aws/refreshes.js';
import {
  createPollers,
  DefaultPollIntervals,
  RefreshPollBudget,
  refreshPollPace,
  scalePollIntervals,
} from '../../src/phases/context.js';
import { fakeRuntime } from './fakes.js';

describe('refreshPollPace', () => {
  it('polls every 10 s up to 100 groups, then stretches the cycle to stay at 10 requests/s', () => {
    for (const groups of [1, 16, 64, 100, 256, 1000]) {
      const pace = refreshPollPace(DefaultPollIntervals, groups);
      expect(pace.periodMs).toBe(Math.max(10_000, groups * 100));
      // On average within the budget, and never faster than the assumed refill within a cycle.
      expect(groups / (pace.periodMs / 1000)).toBeLessThanOrEqual(RefreshPollBudget.requestsPerSecond);
      expect(1000 / pace.spacingMs).toBe(RefreshPollBudget.burstPerSecond);
      // The pause and the cycle's own spread add up to the period.
      expect(pace.pauseMs + (groups - 1) * pace.spacingMs).toBeCloseTo(pace.periodMs, 0);
    }
    expect(refreshPollPace(DefaultPollIntervals, 256)).toEqual({
      periodMs: 25_600,
      spacingMs: 50,
      pauseMs: 12_850,
    });
  });

  it('scales with the poll scale, so a fast simulator sees the same budget per simulated second', () => {
    const fast = scalePollIntervals(DefaultPollIntervals, 0.02);
    const pace = refreshPollPace(fast, 256);
    expect(pace.periodMs).toBeCloseTo(512, 6);
    expect(pace.spacingMs).toBeCloseTo(1, 6);
    expect(refreshPollPace(fast, 10).periodMs).toBe(200);
  });

  it('without a per-request cost polls every refreshMs with the whole cycle at once', () => {
    const plain = { instanceMs: 2000, imageMs: 5000, refreshMs: 10_000, sshMs: 1000 };
    expect(refreshPollPace(plain, 500)).toEqual({ periodMs: 10_000, spacingMs: 0, pauseMs: 10_000 });
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

  it('sends one request per group, spaced and at most `concurrency` at once', async () => {
    const { rt, mock, stats } = slowRefreshes();
    const sleeps: number[] = [];
    const found = await describeRefreshes(rt.autoScaling, [...keys, refreshKey('group-0', 'r-old')], {
      concurrency: 10,
      spacingMs: 50,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    expect(stats.peak).toBe(10);
    expect(found.size).toBe(41);
    const calls = mock.commandCalls(DescribeInstanceRefreshesCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(40);
    expect(calls[0]).toEqual({ AutoScalingGroupName: 'group-0', InstanceRefreshIds: ['r-0', 'r-old'] });
    // Request i starts no earlier than i × spacing after the cycle began.
    expect(sleeps).toEqual(Array.from({ length: 39 }, (_, i) => (i + 1) * 50));
  });

  it('sends nothing more once the run is aborted', async () => {
    const { rt, mock } = slowRefreshes();
    const controller = new AbortController();
    let slept = 0;
    await describeRefreshes(rt.autoScaling, keys, {
      concurrency: 10,
      spacingMs: 50,
      signal: controller.signal,
      sleep: async () => {
        slept += 1;
        if (slept === 5) controller.abort(new Error('SIGTERM'));
      },
    });
    expect(mock.commandCalls(DescribeInstanceRefreshesCommand)).toHaveLength(1);
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
    const spacing = Array.from({ length: 255 }, (_, i) => (i + 1) * 50);
    // The loop starts with the first waiter alone (10 s); the next pause knows all 256 groups.
    expect(rt.clock.sleeps).toEqual([10_000, ...spacing, 12_850, ...spacing]);
  });
});
