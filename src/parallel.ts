/**
 * Bounded concurrency with every error kept. A deploy acts on many groups at once; one group's
 * failure must never stop the others, and the run must end naming every failure, so this never
 * rejects: it returns what succeeded and what failed, each under its key.
 */
import pLimit, { type LimitFunction } from 'p-limit';

/** Runs at most N tasks at once; one limiter may be shared by several stages of a pipeline. */
export type Limiter = LimitFunction;

/** A limiter for `max-parallel`; share it between stages so the cap holds for the whole run. */
export function createLimiter(concurrency: number): Limiter {
  return pLimit(Math.max(1, Math.floor(concurrency)));
}

export interface RunAllOptions<T, R> {
  /** How many tasks may run at once, or a limiter shared with other work. */
  readonly limit: number | Limiter;
  /** Names an item in results and failures (a group name, an image id). */
  readonly key: (item: T) => string;
  readonly task: (item: T) => Promise<R>;
}

export interface Success<T, R> {
  readonly key: string;
  readonly item: T;
  readonly value: R;
}

export interface Failure<T> {
  readonly key: string;
  readonly item: T;
  readonly error: unknown;
}

export interface RunAllResult<T, R> {
  /** In the order of the items given. */
  readonly results: Success<T, R>[];
  readonly failures: Failure<T>[];
}

/** Runs `task` for every item, at most `limit` at once, and collects every outcome without failing fast. */
export async function runAll<T, R>(
  items: readonly T[],
  options: RunAllOptions<T, R>,
): Promise<RunAllResult<T, R>> {
  const limit = typeof options.limit === 'number' ? createLimiter(options.limit) : options.limit;
  const settled = await Promise.allSettled(items.map((item) => limit(() => options.task(item))));
  const results: Success<T, R>[] = [];
  const failures: Failure<T>[] = [];
  settled.forEach((outcome, index) => {
    const item = items[index] as T;
    const key = options.key(item);
    if (outcome.status === 'fulfilled') results.push({ key, item, value: outcome.value });
    else failures.push({ key, item, error: outcome.reason });
  });
  return { results, failures };
}
