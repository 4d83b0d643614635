import { describe, expect, it } from 'vitest';
import { createLimiter, runAll } from '../../../src/lib/parallel.js';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

describe('runAll', () => {
  it('never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 12 }, (_, i) => i);
    const { results } = await runAll(items, {
      limit: 3,
      key: String,
      task: async (n) => {
        running += 1;
        peak = Math.max(peak, running);
        await tick();
        running -= 1;
        return n * 2;
      },
    });
    expect(peak).toBe(3);
    expect(results.map((r) => r.value)).toEqual(items.map((n) => n * 2));
  });

  it('collects every failure under its key and still finishes the others', async () => {
    const done: string[] = [];
    const { results, failures } = await runAll(['a', 'b', 'c', 'd'], {
      limit: 2,
      key: (s) => `group-${s}`,
      task: async (s) => {
        await tick();
        if (s === 'a' || s === 'c') throw new Error(`boom ${s}`);
        done.push(s);
        return s;
      },
    });
    expect(done.sort()).toEqual(['b', 'd']);
    expect(results.map((r) => r.key)).toEqual(['group-b', 'group-d']);
    expect(failures.map((f) => [f.key, (f.error as Error).message])).toEqual([
      ['group-a', 'boom a'],
      ['group-c', 'boom c'],
    ]);
  });

  it('shares one limiter between two batches so the cap holds across stages', async () => {
    const limiter = createLimiter(2);
    let running = 0;
    let peak = 0;
    const task = async (): Promise<void> => {
      running += 1;
      peak = Math.max(peak, running);
      await tick();
      running -= 1;
    };
    await Promise.all([
      runAll([1, 2, 3], { limit: limiter, key: String, task }),
      runAll([4, 5, 6], { limit: limiter, key: String, task }),
    ]);
    expect(peak).toBe(2);
  });

  it('treats a limit below one as one', async () => {
    let running = 0;
    let peak = 0;
    await runAll([1, 2, 3], {
      limit: 0,
      key: String,
      task: async () => {
        running += 1;
        peak = Math.max(peak, running);
        await tick();
        running -= 1;
      },
    });
    expect(peak).toBe(1);
  });
});

describe('createLimiter priorities', () => {
  it('with a limit of 1, a roll queued after several builds runs before the next build starts', async () => {
    const limiter = createLimiter(1);
    const order: string[] = [];
    const step = (name: string) => async (): Promise<string> => {
      order.push(`${name} start`);
      await tick();
      order.push(`${name} end`);
      return name;
    };
    const builds = ['build a', 'build b', 'build c'].map((name) =>
      limiter(step(name), { priority: 'start' }),
    );
    // As the pipeline does: build a's caller queues its roll the moment build a ends.
    const roll = builds[0]!.then(() => limiter(step('roll a'), { priority: 'finish' }));
    await Promise.all([...builds, roll]);
    expect(order).toEqual([
      'build a start',
      'build a end',
      'roll a start',
      'roll a end',
      'build b start',
      'build b end',
      'build c start',
      'build c end',
    ]);
  });

  it('keeps the order of arrival within one priority and counts running and waiting tasks', async () => {
    const limiter = createLimiter(2);
    const order: number[] = [];
    const gates: (() => void)[] = [];
    const tasks = [1, 2, 3, 4, 5].map((n) =>
      limiter(
        () =>
          new Promise<void>((resolve) => {
            order.push(n);
            gates.push(resolve);
          }),
        { priority: n === 5 ? 'finish' : 'start' },
      ),
    );
    await tick();
    // Two slots: only two tasks have started, the other three wait.
    expect(order).toEqual([1, 2]);
    while (gates.length > 0) {
      gates.shift()!();
      await tick();
    }
    await Promise.all(tasks);
    expect(order).toEqual([1, 2, 5, 3, 4]);
    // Every slot is free again: two new tasks start at once.
    const started: number[] = [];
    const more = [6, 7].map((n) => limiter(async () => started.push(n)));
    await tick();
    expect(started).toEqual([6, 7]);
    await Promise.all(more);
  });

  it('passes a task that throws at once to its caller and frees the slot', async () => {
    const limiter = createLimiter(1);
    const failed = limiter(() => {
      throw new Error('no promise at all');
    });
    await expect(failed).rejects.toThrow('no promise at all');
    await expect(limiter(async () => 'next')).resolves.toBe('next');
  });
});
