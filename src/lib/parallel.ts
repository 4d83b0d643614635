/**
 * Bounded concurrency with every error kept. A deploy acts on many groups at once; one group's
 * failure must never stop the others, and the run must end naming every failure, so this never
 * rejects: it returns what succeeded and what failed, each under its key.
 */

/**
 * What a task does for its pipeline. A waiting `finish` (a roll: the last step of a pipeline whose
 * image is built) starts before a waiting `start` (a new image build): with `max-parallel` below
 * the number of pipelines, a finished image's groups must not queue behind builds that were
 * merely asked for earlier, or every pipeline ends late instead of the first ones ending early.
 */
export type Priority = 'start' | 'finish';

const Rank: Readonly<Record<Priority, number>> = { start: 0, finish: 1 };

/** Runs at most N tasks at once; one limiter may be shared by several stages of a pipeline. */
export interface Limiter {
  /** Runs `task` once a slot is free; waiting tasks start by priority, then in order. */
  <R>(task: () => Promise<R>, options?: { readonly priority?: Priority }): Promise<R>;
}

/**
 * A limiter for `max-parallel`; share it between stages so the cap holds for the whole run. p-limit
 * has one FIFO queue; this one keeps a FIFO per priority, which is all the pipeline needs.
 */
export function createLimiter(concurrency: number): Limiter {
  const cap = Math.max(1, Math.floor(concurrency));
  // Index = rank: queues[1] (finish) is served before queues[0] (start).
  const queues: (() => void)[][] = [[], []];
  let active = 0;

  const next = (): void => {
    if (active >= cap) return;
    const queue = [...queues].reverse().find((q) => q.length > 0);
    const run = queue?.shift();
    if (!run) return;
    active += 1;
    run();
  };

  return <R>(task: () => Promise<R>, options?: { readonly priority?: Priority }): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      const rank = Rank[options?.priority ?? 'start'];
      (queues[rank] as (() => void)[]).push(() => {
        let work: Promise<R>;
        try {
          work = task();
        } catch (error) {
          work = Promise.reject(error);
        }
        // The slot is handed on a turn later, so the caller of a finished task can first queue its
        // follow-up (an image's rolls once it is built) and have it weighed against older builds.
        void work.then(resolve, reject).finally(() =>
          setImmediate(() => {
            active -= 1;
            next();
          }),
        );
      });
      next();
    });
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
