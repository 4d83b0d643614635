/**
 * One Describe call per interval for every resource anybody waits for. Pipelines of many groups wait
 * for instances and images at the same time; polling each on its own would spend the EC2 request
 * budget (Describe* share a bucket of 100 tokens refilling 20/s) in proportion to the fleet. Waiters
 * register an id and a test; one loop describes the union of ids and settles them.
 */
import type { Clock, Logger } from '../runtime.js';
import { errorMessage } from '../errors.js';

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

export interface BatchPollerOptions<T> {
  /** Describes the given ids in as few calls as possible; ids it does not return are "not yet". */
  readonly describe: (ids: readonly string[]) => Promise<ReadonlyMap<string, T>>;
  /**
   * Pause between Describe cycles; a function of the ids waited for when the cost of a cycle grows
   * with them (Instance Refreshes: one request per group).
   */
  readonly intervalMs: number | ((ids: readonly string[]) => number);
  readonly clock: Clock;
  readonly log: Logger;
  /** Consecutive failed Describe cycles after which every waiter fails. */
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
  /** Describe calls made, for tests and the benchmark. */
  cycles = 0;

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
    let errors = 0;
    const maxErrors = this.options.maxConsecutiveErrors ?? 5;
    try {
      while (this.waiters.size > 0) {
        await this.options.clock.sleep(this.interval());
        if (this.waiters.size === 0) break;
        const current = [...this.waiters];
        let described: ReadonlyMap<string, T>;
        try {
          this.cycles += 1;
          described = await this.options.describe([...new Set(current.map((w) => w.id))]);
          errors = 0;
        } catch (error) {
          errors += 1;
          this.options.log.warning(`Polling failed (${errors}/${maxErrors}): ${errorMessage(error)}`);
          if (errors >= maxErrors) {
            for (const waiter of current)
              this.settle(waiter, new Error(`Could not poll ${waiter.options.what}: ${errorMessage(error)}`));
          } else {
            this.expire(current);
          }
          continue;
        }
        for (const waiter of current) this.check(waiter, described.get(waiter.id));
      }
    } finally {
      this.running = false;
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
