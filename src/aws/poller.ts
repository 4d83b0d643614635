/**
 * One Describe call per interval for every resource anybody waits for. Pipelines of many groups wait
 * for instances and images at the same time; polling each on its own would spend the EC2 request
 * budget (Describe* share a bucket of 100 tokens refilling 20/s) in proportion to the fleet. Waiters
 * register an id and a test; one loop describes the union of ids and settles them.
 */
import type { Clock, Logger } from '../lib/runtime.js';
import { errorMessage } from '../lib/errors.js';

/** What a waiter's test says about the resource's latest description. */
export type PollVerdict = 'pending' | 'done' | { readonly error: string };

export interface WaitOptions<T> {
  /** Called with the latest description (undefined while AWS does not list it yet). */
  readonly test: (item: T | undefined) => PollVerdict;
  readonly timeoutMs: number;
  /** For messages: "instance i-123 to be running". */
  readonly what: string;
  readonly signal?: AbortSignal;
}

/**
 * What a Describe cycle found: an item per id it saw, or an Error for an id whose own request failed
 * (a refresh is described group by group, so one group's failure concerns only its waiters).
 */
export type Described<T> = ReadonlyMap<string, T | Error>;

export interface BatchPollerOptions<T> {
  /**
   * Describes the given ids in as few calls as possible; ids it does not return are "not yet". It
   * throws when the whole cycle failed, and maps an id to an Error when only that id's request did.
   */
  readonly describe: (ids: readonly string[]) => Promise<Described<T>>;
  /**
   * Pause between Describe cycles; a function of the ids waited for when the cost of a cycle grows
   * with them (Instance Refreshes: one request per group).
   */
  readonly intervalMs: number | ((ids: readonly string[]) => number);
  readonly clock: Clock;
  readonly log: Logger;
  /** Consecutive failed Describes of an id (its own request or the whole cycle) after which its waiters fail. */
  readonly maxConsecutiveErrors?: number;
}

interface Waiter<T> {
  readonly id: string;
  readonly options: WaitOptions<T>;
  readonly deadline: number;
  readonly resolve: (item: T) => void;
  readonly reject: (error: Error) => void;
}

/** Shares one polling loop between every waiter of one kind of resource. */
export class BatchPoller<T> {
  private readonly waiters = new Set<Waiter<T>>();
  private running = false;
  /** Consecutive failed Describes per id, reset when the id is described again. */
  private readonly errors = new Map<string, number>();

  constructor(private readonly options: BatchPollerOptions<T>) {}

  /** Resolves with the description once `test` says done; rejects on its error, timeout or abort. */
  waitFor(id: string, options: WaitOptions<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(abortError(options.signal, options.what));
        return;
      }
      const waiter: Waiter<T> = {
        id,
        options,
        deadline: this.options.clock.now() + options.timeoutMs,
        resolve: (item) => {
          cleanup();
          resolve(item);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const onAbort = (): void => {
        if (this.waiters.delete(waiter)) waiter.reject(abortError(options.signal, options.what));
      };
      const cleanup = (): void => options.signal?.removeEventListener('abort', onAbort);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    const maxErrors = this.options.maxConsecutiveErrors ?? 5;
    let cycleErrors = 0;
    try {
      while (this.waiters.size > 0) {
        await this.options.clock.sleep(this.interval());
        if (this.waiters.size === 0) break;
        const current = [...this.waiters];
        const ids = [...new Set(current.map((w) => w.id))];
        let described: Described<T>;
        try {
          described = await this.options.describe(ids);
          cycleErrors = 0;
        } catch (error) {
          cycleErrors += 1;
          this.options.log.warning(`Polling failed (${cycleErrors}/${maxErrors}): ${errorMessage(error)}`);
          const failed = new Error(errorMessage(error), { cause: error });
          described = new Map(ids.map((id) => [id, failed]));
        }
        // Ids counted this cycle: several waiters may share one id, a cycle counts once per id.
        const counted = new Set<string>();
        for (const waiter of current) {
          const item = described.get(waiter.id);
          if (item instanceof Error)
            this.failedDescribe({ waiter, error: item, counted, logEach: cycleErrors === 0 });
          else {
            this.errors.delete(waiter.id);
            this.check(waiter, item);
          }
        }
      }
    } finally {
      this.running = false;
      this.errors.clear();
    }
  }

  /**
   * One more failed Describe of the waiter's id: after too many in a row its waiters fail, the other
   * ids' waiters go on. A failure of the id's own request is logged here; a whole cycle's, above.
   */
  private failedDescribe(args: {
    readonly waiter: Waiter<T>;
    readonly error: Error;
    readonly counted: Set<string>;
    readonly logEach: boolean;
  }): void {
    const { waiter, error, counted } = args;
    const maxErrors = this.options.maxConsecutiveErrors ?? 5;
    if (!counted.has(waiter.id)) {
      counted.add(waiter.id);
      const count = (this.errors.get(waiter.id) ?? 0) + 1;
      this.errors.set(waiter.id, count);
      if (args.logEach)
        this.options.log.warning(
          `Polling ${waiter.options.what} failed (${count}/${maxErrors}): ${error.message}`,
        );
    }
    if ((this.errors.get(waiter.id) ?? 0) >= maxErrors) {
      this.settle(
        waiter,
        new Error(`Could not poll ${waiter.options.what}: ${error.message}`, { cause: error }),
      );
    } else {
      this.expire([waiter]);
    }
  }

  private interval(): number {
    const { intervalMs } = this.options;
    if (typeof intervalMs === 'number') return intervalMs;
    return intervalMs([...new Set([...this.waiters].map((w) => w.id))]);
  }

  private check(waiter: Waiter<T>, item: T | undefined): void {
    if (!this.waiters.has(waiter)) return;
    let verdict: PollVerdict;
    try {
      verdict = waiter.options.test(item);
    } catch (error) {
      verdict = { error: errorMessage(error) };
    }
    if (verdict === 'done') {
      this.waiters.delete(waiter);
      waiter.resolve(item as T);
    } else if (verdict !== 'pending') {
      this.settle(waiter, new Error(verdict.error));
    } else {
      this.expire([waiter]);
    }
  }

  private expire(waiters: readonly Waiter<T>[]): void {
    const now = this.options.clock.now();
    for (const waiter of waiters) {
      if (now >= waiter.deadline) {
        const seconds = Math.round(waiter.options.timeoutMs / 1000);
        this.settle(waiter, new Error(`Timed out after ${seconds}s waiting for ${waiter.options.what}`));
      }
    }
  }

  private settle(waiter: Waiter<T>, error: Error): void {
    if (this.waiters.delete(waiter)) waiter.reject(error);
  }
}

function abortError(signal: AbortSignal | undefined, what: string): Error {
  const reason = signal?.reason instanceof Error ? signal.reason.message : 'aborted';
  return new Error(`Stopped waiting for ${what}: ${reason}`, { cause: signal?.reason });
}
