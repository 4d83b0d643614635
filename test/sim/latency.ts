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

export interface LatencyOptions {
  /** Response delay per action; `default` for the others. */
  api: Record<string, number>;
  transitions: Transitions;
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
  override?: LatencyOptions['override'];

  constructor(options: Partial<LatencyOptions> = {}) {
    this.api = { ...defaultApiLatency(), ...options.api };
    this.transitions = { ...defaultTransitions(), ...options.transitions };
    this.override = options.override;
  }

  set(options: {
    api?: Record<string, number>;
    transitions?: Partial<Transitions>;
    override?: LatencyOptions['override'];
  }): void {
    if (options.api) Object.assign(this.api, options.api);
    if (options.transitions) Object.assign(this.transitions, options.transitions);
    if (options.override !== undefined) this.override = options.override;
  }

  transition(key: TransitionKey, ctx: LatencyContext = {}): number {
    return this.override?.(key, ctx) ?? this.transitions[key];
  }

  response(action: string): number {
    return this.override?.('api', { action }) ?? this.api[action] ?? this.api.default ?? 0;
  }
}
