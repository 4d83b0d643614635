// Request-rate token buckets like EC2's published API throttling: each action has its own bucket
// (capacity, refill per second) by category; an empty bucket answers RequestLimitExceeded (EC2, HTTP 503)
// or Throttling (Auto Scaling, HTTP 400). Refill runs on simulated time: with timeScale 0.01 a bucket
// refills 100x faster in real time, so a scaled-down run meets the same budget per simulated second;
// with the clock held it refills only as far as the clock is advanced.
import type { Service } from './codec.js';

export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

export interface ThrottleOptions {
  enabled: boolean;
  /** Overrides per action name (e.g. { DescribeInstances: { capacity: 10, refillPerSecond: 1 } }). */
  buckets?: Record<string, BucketSpec>;
}

// EC2 "Request throttling for the Amazon EC2 API": non-mutating 100/20, unfiltered-and-unpaginated
// non-mutating 50/10, mutating 200/5, RunInstances 1000/2 (plus its instance resource bucket 1000/2).
// Auto Scaling publishes no bucket sizes; these are conservative guesses of the same shape.
const ec2Categories = {
  nonMutating: { capacity: 100, refillPerSecond: 20 },
  unfiltered: { capacity: 50, refillPerSecond: 10 },
  mutating: { capacity: 200, refillPerSecond: 5 },
  runInstances: { capacity: 1000, refillPerSecond: 2 },
  terminateInstances: { capacity: 1000, refillPerSecond: 20 },
} satisfies Record<string, BucketSpec>;

const autoscalingCategories = {
  describe: { capacity: 100, refillPerSecond: 20 },
  mutating: { capacity: 40, refillPerSecond: 4 },
} satisfies Record<string, BucketSpec>;

export function defaultBucket(service: Service, action: string, input: Record<string, unknown>): BucketSpec {
  if (service === 'autoscaling') {
    return action.startsWith('Describe') ? autoscalingCategories.describe : autoscalingCategories.mutating;
  }
  if (action === 'RunInstances') return ec2Categories.runInstances;
  if (action === 'TerminateInstances') return ec2Categories.terminateInstances;
  if (action.startsWith('Describe') || action.startsWith('Get')) {
    const narrowed = Object.entries(input).some(([k, v]) => k !== 'DryRun' && v !== undefined);
    return narrowed ? ec2Categories.nonMutating : ec2Categories.unfiltered;
  }
  return ec2Categories.mutating;
}

interface Bucket {
  tokens: number;
  at: number;
  spec: BucketSpec;
}

export class Throttle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    public options: ThrottleOptions,
    /** Simulated milliseconds (the world clock's simTime). */
    private readonly simTime: () => number,
  ) {}

  /** Takes `cost` tokens from the action's bucket; false when it is empty (the call is throttled). */
  take(service: Service, action: string, input: Record<string, unknown>, cost = 1): boolean {
    if (!this.options.enabled) return true;
    const spec = this.options.buckets?.[action] ?? defaultBucket(service, action, input);
    const key = `${service}:${action}:${spec.capacity}:${spec.refillPerSecond}`;
    const now = this.simTime();
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = { tokens: spec.capacity, at: now, spec }));
    const simSeconds = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(spec.capacity, bucket.tokens + simSeconds * spec.refillPerSecond);
    bucket.at = now;
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  }

  reset(): void {
    this.buckets.clear();
  }
}
