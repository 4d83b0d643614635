// How long things take, in simulated milliseconds (multiplied by the clock's timeScale before use).
// Defaults are shaped like AWS: an instance runs ~30 s after RunInstances and accepts SSH ~20 s later,
// an 8 GiB AMI becomes available in ~5 min, an Instance Refresh replaces a batch per launch + warmup.

export interface Transitions {
  /** pending → running */
  instancePending: number;
  /** running → sshd accepting connections (the SSH gate opens) */
  sshBoot: number;
  /** stopping → stopped */
  instanceStopping: number;
  /** shutting-down → terminated */
  instanceShuttingDown: number;
  /** image pending → available: flat part */
  imageBase: number;
  /** image pending → available: per GiB of its EBS snapshots */
  imagePerGiB: number;
  /** refresh Pending → InProgress */
  refreshPending: number;
  /** warmup used when neither the refresh's InstanceWarmup nor the group's DefaultInstanceWarmup is set */
  refreshDefaultWarmup: number;
  /** Cancelling → Cancelled */
  refreshCancel: number;
  /** terminated instances stay visible in DescribeInstances this long */
  terminatedRetention: number;
}

export type TransitionKey = keyof Transitions;

/** What a transition concerns, so an override can vary latency per group (the benchmark does). */
export interface LatencyContext {
  groupName?: string;
  instanceId?: string;
  imageId?: string;
  action?: string;
}

/**
 * How long, in simulated ms, a resource the API just created stays invisible to reads, as EC2's
 * eventual consistency makes it: a describe by its id answers NotFound, filtered describes omit it.
 */
export interface Consistency {
  /** Instances launched by RunInstances (Auto Scaling's launches are not delayed). */
  instances: number;
  /** Images created by CreateImage. */
  images: number;
  /**
   * How long a deregistered image still appears in DescribeImages, with State `deregistered`:
   * "Recently deregistered images appear in the returned results for a short interval and then
   * return empty results" (DescribeImages, Amazon EC2 API Reference).
   */
  deregistered: number;
  /**
   * How long the tags a launch or CreateImage put on a new instance or image stay out of `tag:`
   * filters (the resource itself is visible, its tags not yet searchable).
   */
  tags: number;
}

export interface LatencyOptions {
  /** Response delay per action; `default` for the others. */
  api: Record<string, number>;
  transitions: Transitions;
  consistency: Consistency;
  /** Per-resource variation: return a number to replace the default, undefined to keep it. */
  override?: (key: TransitionKey | 'api', ctx: LatencyContext) => number | undefined;
}

export const defaultTransitions = (): Transitions => ({
  instancePending: 30_000,
  sshBoot: 20_000,
  instanceStopping: 30_000,
  instanceShuttingDown: 20_000,
  imageBase: 60_000,
  imagePerGiB: 30_000,
  refreshPending: 15_000,
  refreshDefaultWarmup: 300_000,
  refreshCancel: 10_000,
  terminatedRetention: 3_600_000,
});

export const defaultApiLatency = (): Record<string, number> => ({
  default: 80,
  RunInstances: 400,
  CreateImage: 300,
  StartInstanceRefresh: 300,
});

export class Latency {
  api: Record<string, number>;
  transitions: Transitions;
  /** Off (0) unless asked for: a describe right after a create sees the resource. */
  consistency: Consistency;
  override?: LatencyOptions['override'];

  constructor(
    options: Partial<Omit<LatencyOptions, 'consistency'>> & { consistency?: Partial<Consistency> } = {},
  ) {
    this.api = { ...defaultApiLatency(), ...options.api };
    this.transitions = { ...defaultTransitions(), ...options.transitions };
    this.consistency = { instances: 0, images: 0, deregistered: 0, tags: 0, ...options.consistency };
    this.override = options.override;
  }

  set(options: {
    api?: Record<string, number>;
    transitions?: Partial<Transitions>;
    consistency?: Partial<Consistency>;
    override?: LatencyOptions['override'];
  }): void {
    if (options.api) Object.assign(this.api, options.api);
    if (options.transitions) Object.assign(this.transitions, options.transitions);
    if (options.consistency) Object.assign(this.consistency, options.consistency);
    if (options.override !== undefined) this.override = options.override;
  }

  transition(key: TransitionKey, ctx: LatencyContext = {}): number {
    return this.override?.(key, ctx) ?? this.transitions[key];
  }

  response(action: string): number {
    return this.override?.('api', { action }) ?? this.api[action] ?? this.api.default ?? 0;
  }
}
