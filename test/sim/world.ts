// The world the handlers act on: resources, clock, latency model, SSH gates, faults and throttling.
import { Clock } from './clock.js';
import type { ServiceName } from './codec.js';
import { Faults } from './faults.js';
import { Gates, type SshTarget } from './gates.js';
import { Latency, type LatencyOptions } from './latency.js';
import { Permissions } from './permissions.js';
import { State } from './state.js';
import { Throttle, type ThrottleOptions } from './throttle.js';

export interface ObservedCall {
  readonly service: ServiceName;
  readonly action: string;
  /** The SDK-shaped input. */
  readonly params: Record<string, unknown>;
}

export interface WorldOptions {
  accountId?: string;
  region?: string;
  /** Multiplies every simulated duration (0.001 = 1000x faster than AWS). Default 1. */
  timeScale?: number;
  latency?: Partial<Omit<LatencyOptions, 'transitions' | 'consistency'>> & {
    transitions?: Partial<LatencyOptions['transitions']>;
    consistency?: Partial<LatencyOptions['consistency']>;
  };
  throttle?: Partial<ThrottleOptions>;
  /** Port every instance address listens on for SSH once booted; needs sshTarget too. */
  sshPort?: number;
  /** The real sshd the gates forward to. */
  sshTarget?: SshTarget;
  /** Also open gates for instances that Auto Scaling launches (default false: only RunInstances ones). */
  gateGroupInstances?: boolean;
}

export class World {
  state: State;
  readonly clock: Clock;
  readonly latency: Latency;
  readonly faults = new Faults();
  /** IAM actions denied to the caller (reset() allows everything again). */
  readonly permissions = new Permissions();
  readonly throttle: Throttle;
  readonly gates: Gates;
  readonly gateGroupInstances: boolean;
  /**
   * Called just before each handler runs, with the decoded call and the state it finds; what it
   * returns is kept as the call's `observed` (for tests that need a resource as it was at the call,
   * such as its tags before a delete).
   */
  observer?: (call: ObservedCall, state: State) => unknown;
  /** host:port of the EC2 Instance Connect Endpoint tunnel server: every endpoint's DnsName. */
  tunnelAddress = '';
  /** Simulated ms a key pushed with SendSSHPublicKey stays valid (AWS: 60 s). */
  keyLifetimeMs = 60_000;
  /** Simulated ms per second of a tunnel's maxTunnelDuration (1000: AWS's seconds). */
  tunnelMsPerSecond = 1000;
  /** Closes the tunnels of a deleted endpoint (set by the tunnel server). */
  onEndpointDeleted?: (endpointId: string) => void;

  constructor(readonly options: WorldOptions = {}) {
    this.state = new State(options.accountId ?? '123456789012', options.region ?? 'us-east-1');
    this.clock = new Clock(options.timeScale ?? 1);
    this.latency = new Latency({
      ...options.latency,
      transitions: { ...new Latency().transitions, ...options.latency?.transitions },
    });
    this.throttle = new Throttle({ enabled: false, ...options.throttle }, () => this.clock.simTime());
    this.gates = new Gates(options.sshPort, options.sshTarget);
    this.gateGroupInstances = options.gateGroupInstances ?? false;
  }

  /** Whether a resource created at simulated time `visibleAt` can be read yet. */
  visible(visibleAt: number | undefined): boolean {
    return visibleAt === undefined || this.clock.simTime() >= visibleAt;
  }

  /** Forgets every resource and pending transition, allows every action again and releases a held
   *  clock; faults and latency settings stay. */
  async reset(): Promise<void> {
    this.clock.clear();
    // A hold belongs to the test that took it: the next one starts on scaled real time again.
    this.clock.release();
    for (const r of this.state.refreshes.values()) r.stop?.();
    await this.gates.closeAll();
    this.state = new State(this.state.accountId, this.state.region);
    this.throttle.reset();
    this.permissions.clear();
  }

  async stop(): Promise<void> {
    this.clock.clear(true);
    await this.gates.closeAll();
  }
}
