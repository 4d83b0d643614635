// The AWS simulator: startSimulator() serves the EC2 and Auto Scaling Query APIs on 127.0.0.1 for the
// unmodified AWS SDK v3 clients. See README.md next to this file for the full API.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Clock } from './clock.js';
import { TunnelServer, type Tunnel } from './eice-tunnel.js';
import type { Faults } from './faults.js';
import { seed, type Fixture, type SeedResult } from './fixtures.js';
import { addEndpoint, validKeys, type EndpointSpec } from './instance-connect.js';
import type { Consistency, LatencyOptions, Transitions } from './latency.js';
import { Calls, createServer, type CallRecord } from './server.js';
import type { InstanceConnectEndpointRecord, State } from './state.js';
import type { ThrottleOptions } from './throttle.js';
import { World, type WorldOptions } from './world.js';

export type { CallRecord } from './server.js';
export type { Clock } from './clock.js';
export type { Fault, ApiFault, ImageFault, RefreshFault } from './faults.js';
export type {
  Fixture,
  FixtureGroup,
  FixtureImage,
  FixtureTemplate,
  SeedResult,
  BuildFixtureOptions,
} from './fixtures.js';
export { buildFixture } from './fixtures.js';
export type { Consistency, Transitions, LatencyContext, TransitionKey } from './latency.js';
export type { SshTarget } from './gates.js';
export type { ObservedCall } from './world.js';
export type { Tunnel } from './eice-tunnel.js';
export type { EndpointSpec } from './instance-connect.js';

/** EC2 Instance Connect: pushed keys and the Instance Connect Endpoint's tunnel server. */
export interface InstanceConnect {
  /** host:port of the tunnel server (TLS on 127.0.0.1): the DnsName of every endpoint. */
  readonly dnsName: string;
  /** PEM file of the tunnel server's self-signed certificate: give it to clients as NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
  /** The same certificate as text (a `ca` option for an in-process client). */
  readonly caPem: string;
  /** URL sshd's AuthorizedKeysCommand asks, with `?address=<instance address>&user=<OS user>`. */
  readonly keysUrl: string;
  /** Creates an endpoint (create-complete) in the subnet's VPC, as a fixture does. */
  addEndpoint(spec?: EndpointSpec): InstanceConnectEndpointRecord;
  /** Concurrent tunnels an endpoint accepts from now on (default 20). */
  setMaxConnections(endpointId: string, max: number): void;
  /** Unexpired pushed keys for the instance at this address and the OS user. */
  keys(address: string, user: string): { instanceId?: string; keys: string[] };
  /**
   * How long pushed keys and tunnels last, in simulated ms (kept across reset). AWS's are 60 s and
   * maxTunnelDuration seconds; a fast-forwarded world whose SSH traffic still takes real milliseconds
   * (the end-to-end fleet) stretches them back to real time.
   */
  setTiming(opts: { keyLifetimeMs?: number; tunnelMsPerSecond?: number }): void;
  /** Open tunnels (of one endpoint). */
  openTunnels(endpointId?: string): Tunnel[];
  /** Every tunnel since the last reset, closed ones with closedAt, closeCode and closeReason. */
  tunnels(): Tunnel[];
}

export interface SimulatorOptions extends WorldOptions {
  /** Port on 127.0.0.1 (default 0: ephemeral). */
  port?: number;
  /** Seeded at start. */
  fixture?: Fixture;
}

export interface Simulator {
  /** http://127.0.0.1:PORT — pass as `endpoint` to EC2Client / AutoScalingClient. */
  readonly endpoint: string;
  readonly port: number;
  readonly world: World;
  /** The world's clock: `hold()` stops simulated time, `advance(simMs)` moves it by hand, `release()`
   *  resumes scaled real time. */
  readonly clock: Clock;
  /** Live resources (SDK-shaped objects in Maps). */
  readonly state: State;
  /** Every API call so far, oldest first. */
  readonly calls: CallRecord[];
  /** The calls of one action that act, oldest first: DryRun requests (a preflight's) left out. */
  sent(action: string): CallRecord[];
  readonly faults: Faults;
  readonly instanceConnect: InstanceConnect;
  /** Seed result of the `fixture` option (empty when none). */
  readonly seeded: SeedResult;
  /** Client config for the SDK: { endpoint, region, credentials }. */
  clientConfig(): {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  seed(fixture: Fixture): SeedResult;
  /** Forgets resources, pending transitions, calls and faults and releases a held clock (latency and
   *  throttle settings stay). */
  reset(): Promise<void>;
  clearCalls(): void;
  setLatency(opts: {
    api?: Record<string, number>;
    transitions?: Partial<Transitions>;
    /** Eventual-consistency windows, simulated ms (0 = off, the default). */
    consistency?: Partial<Consistency>;
    override?: LatencyOptions['override'];
    timeScale?: number;
  }): void;
  setThrottle(opts: Partial<ThrottleOptions>): void;
  /** Denies IAM actions (`ec2:RunInstances`, `autoscaling:StartInstanceRefresh`) until reset(). */
  deny(actions: readonly string[]): void;
  /** Resolves when the SSH gate of every booted instance is listening. */
  gatesReady(): Promise<void>;
  /** Clears every timer, closes every gate and the server. */
  stop(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const world = new World(options);
  const calls = new Calls();
  // The server needs the simulator for /_sim and the simulator needs the server's port: tie the knot.
  const holder: { sim?: Simulator } = {};
  const server: http.Server = createServer(
    world,
    calls,
    new Proxy({} as Simulator, { get: (_, k) => holder.sim?.[k as keyof Simulator] }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const tunnels = await TunnelServer.start(world, calls);
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const sim: Simulator = {
    endpoint,
    port,
    world,
    clock: world.clock,
    get state() {
      return world.state;
    },
    get calls() {
      return calls.list;
    },
    sent: (action) => calls.list.filter((c) => c.action === action && c.params.DryRun !== true),
    faults: world.faults,
    instanceConnect: {
      dnsName: tunnels.address,
      caFile: tunnels.caFile,
      caPem: tunnels.caPem,
      keysUrl: `${endpoint}/_sim/instance-connect/keys`,
      addEndpoint: (spec = {}) => addEndpoint(world, spec),
      setMaxConnections: (endpointId, max) => {
        const record = world.state.instanceConnectEndpoints.get(endpointId);
        if (!record) throw new Error(`no EC2 Instance Connect Endpoint ${endpointId}`);
        record.maxConnections = max;
      },
      keys: (address, user) => validKeys(world, address, user),
      setTiming: ({ keyLifetimeMs, tunnelMsPerSecond }) => {
        if (keyLifetimeMs !== undefined) world.keyLifetimeMs = keyLifetimeMs;
        if (tunnelMsPerSecond !== undefined) world.tunnelMsPerSecond = tunnelMsPerSecond;
      },
      openTunnels: (endpointId) => tunnels.open(endpointId),
      tunnels: () => tunnels.all(),
    },
    seeded: { images: {}, launchTemplates: {}, groups: [] },
    clientConfig: () => ({
      endpoint,
      region: world.state.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
    seed: (fixture) => seed(world, fixture),
    reset: async () => {
      tunnels.reset();
      await world.reset();
      calls.clear();
      world.faults.clear();
    },
    clearCalls: () => calls.clear(),
    setLatency: ({ timeScale, ...rest }) => {
      if (timeScale !== undefined) world.clock.timeScale = timeScale;
      world.latency.set(rest);
    },
    setThrottle: (opts) => {
      Object.assign(world.throttle.options, opts);
      world.throttle.reset();
    },
    deny: (actions) => world.permissions.deny(actions),
    gatesReady: async () => {
      const ips = [...world.state.instances.values()]
        .filter((r) => r.booted)
        .map((r) => r.instance.PrivateIpAddress ?? '');
      await Promise.all(ips.filter((ip) => world.gates.isOpen(ip)).map((ip) => world.gates.open(ip)));
    },
    stop: async () => {
      await tunnels.stop();
      await world.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
  holder.sim = sim;
  if (options.fixture) Object.assign(sim.seeded, sim.seed(options.fixture));
  return sim;
}
