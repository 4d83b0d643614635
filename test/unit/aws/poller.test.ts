import { describe, expect, it, vi } from 'vitest';
import { BatchPoller, type PollVerdict } from '../../../src/aws/poller.js';
import { fakeClock, recordingLogger } from '../../helpers/fakes.js';

type Item = { state: string };

function poller(states: Map<string, string[]>, intervalMs = 2000) {
  const calls: string[][] = [];
  const p = new BatchPoller<Item>({
    intervalMs,
    clock: fakeClock(),
    log: recordingLogger(),
    describe: async (ids) => {
      calls.push([...ids]);
      const found = new Map<string, Item>();
      for (const id of ids) {
        const queue = states.get(id);
        const state = queue && queue.length > 1 ? queue.shift() : queue?.[0];
        if (state !== undefined && state !== 'absent') found.set(id, { state });
      }
      return found;
    },
  });
  return { p, calls };
}

const until =
  (wanted: string, bad = 'terminated') =>
  (item: Item | undefined): PollVerdict =>
    item?.state === wanted ? 'done' : item?.state === bad ? { error: `went ${bad}` } : 'pending';

describe('BatchPoller', () => {
  it('describes all pending ids in one call per cycle', async () => {
    const { p, calls } = poller(
      new Map([
        ['i-1', ['pending', 'running']],
        ['i-2', ['pending', 'pending', 'running']],
        ['i-3', ['absent', 'pending', 'pending', 'pending', 'running']],
      ]),
    );
    const results = await Promise.all(
      ['i-1', 'i-2', 'i-3'].map((id) =>
        p.waitFor(id, { test: until('running'), timeoutMs: 60_000, what: id }),
      ),
    );
    expect(results.map((r) => r.state)).toEqual(['running', 'running', 'running']);
    expect(calls).toEqual([['i-1', 'i-2', 'i-3'], ['i-1', 'i-2', 'i-3'], ['i-2', 'i-3'], ['i-3'], ['i-3']]);
  });

  it('rejects a waiter whose test reports an error and keeps the others going', async () => {
    const { p } = poller(
      new Map([
        ['ami-1', ['pending', 'failed']],
        ['ami-2', ['pending', 'pending', 'available']],
      ]),
    );
    const bad = p.waitFor('ami-1', { test: until('available', 'failed'), timeoutMs: 60_000, what: 'ami-1' });
    const good = p.waitFor('ami-2', { test: until('available', 'failed'), timeoutMs: 60_000, what: 'ami-2' });
    await expect(bad).rejects.toThrow('went failed');
    await expect(good).resolves.toEqual({ state: 'available' });
  });

  it('times out on the fake clock with the resource named', async () => {
    const { p, calls } = poller(new Map([['i-9', ['pending']]]), 5000);
    await expect(
      p.waitFor('i-9', { test: until('running'), timeoutMs: 30_000, what: 'instance i-9 to be running' }),
    ).rejects.toThrow('Timed out after 30s waiting for instance i-9 to be running');
    expect(calls.length).toBe(6);
  });

  it('stops at once when the signal aborts', async () => {
    const { p } = poller(new Map([['i-1', ['pending']]]));
    const controller = new AbortController();
    const wait = p.waitFor('i-1', {
      test: until('running'),
      timeoutMs: 10_000_000,
      what: 'i-1',
      signal: controller.signal,
    });
    controller.abort(new Error('SIGINT'));
    await expect(wait).rejects.toThrow('Stopped waiting for i-1: SIGINT');
  });

  it('survives a failing Describe and fails waiters only after repeated failures', async () => {
    const describe = vi
      .fn()
      .mockRejectedValueOnce(new Error('RequestLimitExceeded'))
      .mockResolvedValueOnce(new Map([['i-1', { state: 'running' }]]));
    const log = recordingLogger();
    const p = new BatchPoller<Item>({ intervalMs: 1000, clock: fakeClock(), log, describe });
    await expect(
      p.waitFor('i-1', { test: until('running'), timeoutMs: 60_000, what: 'i-1' }),
    ).resolves.toEqual({
      state: 'running',
    });
    expect(log.lines).toContain('warning Polling failed (1/5): RequestLimitExceeded');

    const broken = new BatchPoller<Item>({
      intervalMs: 1000,
      clock: fakeClock(),
      log,
      describe: () => Promise.reject(new Error('AccessDenied')),
      maxConsecutiveErrors: 2,
    });
    await expect(
      broken.waitFor('i-2', { test: until('running'), timeoutMs: 60_000, what: 'i-2' }),
    ).rejects.toThrow('Could not poll i-2: AccessDenied');
  });

  it('fails only the waiters of an id whose own request keeps failing', async () => {
    const log = recordingLogger();
    let cycle = 0;
    const p = new BatchPoller<Item>({
      intervalMs: 1000,
      clock: fakeClock(),
      log,
      maxConsecutiveErrors: 3,
      describe: async () => {
        cycle += 1;
        return new Map<string, Item | Error>([
          ['r-bad', new Error('AccessDenied')],
          ['r-good', { state: cycle >= 5 ? 'Successful' : 'InProgress' }],
        ]);
      },
    });
    const bad = p.waitFor('r-bad', { test: until('Successful'), timeoutMs: 60_000, what: 'refresh r-bad' });
    const alsoBad = p.waitFor('r-bad', {
      test: until('Successful'),
      timeoutMs: 60_000,
      what: 'refresh r-bad',
    });
    const good = p.waitFor('r-good', {
      test: until('Successful'),
      timeoutMs: 60_000,
      what: 'refresh r-good',
    });
    await expect(bad).rejects.toThrow('Could not poll refresh r-bad: AccessDenied');
    await expect(alsoBad).rejects.toThrow('Could not poll refresh r-bad: AccessDenied');
    await expect(good).resolves.toEqual({ state: 'Successful' });
    // Counted once per cycle however many waiters share the id: failed at the third cycle.
    expect(log.lines.filter((l) => l.includes('Polling refresh r-bad failed'))).toEqual([
      'warning Polling refresh r-bad failed (1/3): AccessDenied',
      'warning Polling refresh r-bad failed (2/3): AccessDenied',
      'warning Polling refresh r-bad failed (3/3): AccessDenied',
    ]);
  });

  it('counts only consecutive failures of an id', async () => {
    let cycle = 0;
    const p = new BatchPoller<Item>({
      intervalMs: 1000,
      clock: fakeClock(),
      log: recordingLogger(),
      maxConsecutiveErrors: 2,
      describe: async () => {
        cycle += 1;
        // Fails every other cycle: never twice in a row.
        const item =
          cycle % 2 === 1 ? new Error('Throttling') : { state: cycle >= 6 ? 'running' : 'pending' };
        return new Map<string, Item | Error>([['i-1', item]]);
      },
    });
    await expect(
      p.waitFor('i-1', { test: until('running'), timeoutMs: 60_000, what: 'i-1' }),
    ).resolves.toEqual({
      state: 'running',
    });
  });
});
