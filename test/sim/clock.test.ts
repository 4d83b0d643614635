import { DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { Clock } from './clock.js';
import { buildFixture, startSimulator, type Simulator } from './index.js';
import { clients, waitFor } from './testkit.js';
import { Throttle } from './throttle.js';

const realDelay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Clock', () => {
  it('a held clock fires nothing and stands still; a running one fires the same timer', async () => {
    const held = new Clock(0.001);
    const running = new Clock(0.001);
    const fired: string[] = [];
    held.after(0, () => fired.push('set before the hold'));
    held.hold();
    held.after(0, () => fired.push('set while held'));
    running.after(0, () => fired.push('running'));
    const t = held.simTime();
    // Node fires timers in expiry order: a live 0 ms timer (1 ms real) always precedes this 20 ms one.
    await realDelay(20);
    expect(fired).toEqual(['running']);
    expect(held.pending).toBe(2);
    expect(held.simTime()).toBe(t);
    expect(held.held).toBe(true);
    expect(running.held).toBe(false);
  });

  it('advance fires due timers in order, including ones set by fired timers, and stops at the target', async () => {
    const clock = new Clock(1);
    clock.hold();
    const start = clock.simTime();
    const log: string[] = [];
    const mark = (name: string) => () => log.push(`${name}@${clock.simTime() - start}`);
    clock.after(300, mark('c'));
    clock.after(100, () => {
      mark('a')();
      clock.after(50, mark('a+50'));
      // A chained transition set from a promise continuation, as the handlers' async work would.
      void Promise.resolve().then(() => clock.after(10, mark('a+10 (async)')));
    });
    clock.after(100, mark('b'));
    clock.after(1_000, mark('late'));
    const slept = clock.sleep(350).then(mark('slept'));

    await clock.advance(400);
    await slept;
    expect(log).toEqual(['a@100', 'b@100', 'a+10 (async)@110', 'a+50@150', 'c@300', 'slept@350']);
    expect(clock.simTime() - start).toBe(400);
    expect(clock.pending).toBe(1);
    expect(clock.nextIn).toBe(600);

    await clock.advance(599);
    expect(log).not.toContain('late@1000');
    await clock.advance(1);
    expect(log.at(-1)).toBe('late@1000');
    expect(clock.pending).toBe(0);
  });

  it('advance queues calls made together; a cancelled timer never fires; a running clock refuses', async () => {
    const clock = new Clock(1);
    const refused = await clock.advance(10).then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    expect(refused).toContain('needs a held clock');
    clock.hold();
    const log: number[] = [];
    const start = clock.simTime();
    for (const at of [100, 200, 300]) clock.after(at, () => log.push(clock.simTime() - start));
    const cancel = clock.after(150, () => log.push(-1));
    cancel();
    await Promise.all([clock.advance(200), clock.advance(200)]);
    expect(log).toEqual([100, 200, 300]);
    expect(clock.simTime() - start).toBe(400);
  });

  it('simulated time runs at 1/timeScale of real time, continuous across a new scale, a hold and a release', async () => {
    let real = 0;
    const clock = new Clock(0.01, () => real);
    real = 10;
    expect(clock.simTime()).toBe(1_000);
    clock.timeScale = 0.001;
    real = 11;
    expect(clock.simTime()).toBe(2_000);
    clock.hold();
    real = 500;
    expect(clock.simTime()).toBe(2_000);
    await clock.advance(500);
    expect(clock.simTime()).toBe(2_500);
    clock.release();
    real = 501;
    expect(clock.simTime()).toBe(3_500);
  });

  it('release resumes scaled real time with what is left of each delay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const clock = new Clock(0.01, () => Date.now());
      clock.hold();
      const log: string[] = [];
      clock.after(1_000, () => log.push('a'));
      clock.after(2_000, () => log.push('b'));
      vi.advanceTimersByTime(1_000); // 100 simulated s of real time: nothing while held
      expect(log).toEqual([]);
      await clock.advance(600);
      clock.release();
      vi.advanceTimersByTime(3); // 300 of the 400 simulated ms left
      expect(log).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(log).toEqual(['a']);
      vi.advanceTimersByTime(10);
      expect(log).toEqual(['a', 'b']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('release hands queued timers back to real timers that fire', async () => {
    const clock = new Clock(0.001);
    clock.hold();
    const fired: number[] = [];
    clock.after(2_000, () => fired.push(2));
    clock.after(1_000, () => fired.push(1));
    clock.release();
    await waitFor(() => fired.length === 2);
    expect(fired).toEqual([1, 2]);
  });

  it('throttle buckets refill on simulated time: 100x faster at timeScale 0.01, only by advance when held', async () => {
    let real = 0;
    const clock = new Clock(0.01, () => real);
    const throttle = new Throttle(
      { enabled: true, buckets: { DescribeInstances: { capacity: 1, refillPerSecond: 1 } } },
      () => clock.simTime(),
    );
    const take = () => throttle.take('ec2', 'DescribeInstances', {});
    expect(take()).toBe(true);
    expect(take()).toBe(false);
    real += 10; // 1 simulated second
    expect(take()).toBe(true);
    clock.timeScale = 1;
    real += 10; // 10 ms: a hundredth of a token
    expect(take()).toBe(false);
    clock.hold();
    real += 60_000;
    expect(take()).toBe(false);
    await clock.advance(1_000);
    expect(take()).toBe(true);
  });
});

describe('the clock through the simulator', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ timeScale: 0.0001 });
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.reset());
  afterEach(() => sim.clock.release());

  const control = async (path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${sim.endpoint}/_sim/clock${path}`, {
      method: path ? 'POST' : 'GET',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  it('is held, advanced and released over /_sim/clock', async () => {
    const { ec2 } = clients(sim);
    const image = sim.seed(buildFixture({ groups: 1, instancesPerGroup: 0 })).images['shop-base-0'];
    expect((await control('')).body).toMatchObject({ held: false, pending: 0, timeScale: 0.0001 });
    expect((await control('/advance', { ms: 1 })).status).toBe(409);
    expect((await control('/hold')).body).toMatchObject({ held: true });
    const run = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 }));
    const id = run.Instances?.[0]?.InstanceId ?? '';
    const state = async () =>
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]
        ?.State?.Name;
    expect(await control('')).toMatchObject({ body: { held: true, pending: 1, nextIn: 30_000 } });
    expect((await control('/advance', { ms: -1 })).status).toBe(400);
    expect((await control('/advance', {})).status).toBe(400);
    await control('/advance', { ms: 29_999 });
    expect(await state()).toBe('pending');
    const after = await control('/advance', { ms: 1 });
    expect(after.body).toMatchObject({ held: true, pending: 1, nextIn: 20_000 }); // now the SSH boot
    expect(await state()).toBe('running');
    expect((await control('/release')).body).toMatchObject({ held: false });
    await waitFor(() => sim.state.instances.get(id)?.booted);
    expect(sim.clock.pending).toBe(0);
  });

  it('reset releases a held clock', async () => {
    sim.clock.hold();
    await sim.reset();
    expect(sim.clock.held).toBe(false);
  });
});
