import { describe, expect, it } from 'vitest';
import { createLimiter, runAll } from '../../src/parallel.js';

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
