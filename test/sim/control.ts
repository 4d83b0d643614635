// The control API under /_sim (JSON): inspect state and calls, reset, seed, faults, latency, throttling,
// the clock (hold, advance, release) for a client outside the test process, and EC2 Instance Connect:
// the keys an instance's agent would hand sshd (asked by sshd's AuthorizedKeysCommand), endpoints and
// tunnels.
import type { Fault } from './faults.js';
import type { Fixture } from './fixtures.js';
import type { EndpointSpec } from './instance-connect.js';
import type { Simulator } from './index.js';
import type { Consistency, Transitions } from './latency.js';
import type { ThrottleOptions } from './throttle.js';

type Reply = { status: number; body: unknown };

function clockStatus(sim: Simulator): Reply {
  const c = sim.world.clock;
  return {
    status: 200,
    body: {
      held: c.held,
      simTime: c.simTime(),
      pending: c.pending,
      nextIn: c.nextIn,
      timeScale: c.timeScale,
    },
  };
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return undefined;
  }
}

export async function control(sim: Simulator, method: string, url: URL, text: string): Promise<Reply> {
  const body = parse(text);
  if (body === undefined) return { status: 400, body: { error: 'body is not JSON' } };
  const route = `${method} ${url.pathname.replace(/\/$/, '')}`;
  switch (route) {
    case 'GET /_sim':
    case 'GET /_sim/health':
      return {
        status: 200,
        body: { ok: true, endpoint: sim.endpoint, timeScale: sim.world.clock.timeScale },
      };
    case 'GET /_sim/state':
      return { status: 200, body: sim.world.state.toJSON() };
    case 'GET /_sim/calls': {
      const action = url.searchParams.get('action');
      const since = Number(url.searchParams.get('since') ?? 0);
      return {
        status: 200,
        body: sim.calls.filter((c) => c.seq > since && (!action || c.action === action)),
      };
    }
    case 'DELETE /_sim/calls':
      sim.clearCalls();
      return { status: 200, body: { ok: true } };
    case 'POST /_sim/reset':
      await sim.reset();
      return { status: 200, body: { ok: true } };
    case 'POST /_sim/seed':
      return { status: 200, body: sim.seed(body as Fixture) };
    case 'GET /_sim/faults':
      return { status: 200, body: sim.faults.list() };
    case 'POST /_sim/faults':
      return { status: 200, body: { id: sim.faults.add(body as Fault) } };
    case 'DELETE /_sim/faults':
      sim.faults.clear();
      return { status: 200, body: { ok: true } };
    case 'POST /_sim/latency': {
      const b = body as {
        api?: Record<string, number>;
        transitions?: Partial<Transitions>;
        consistency?: Partial<Consistency>;
        timeScale?: number;
      };
      sim.setLatency(b);
      return {
        status: 200,
        body: {
          api: sim.world.latency.api,
          transitions: sim.world.latency.transitions,
          consistency: sim.world.latency.consistency,
          timeScale: sim.world.clock.timeScale,
        },
      };
    }
    case 'GET /_sim/clock':
      return clockStatus(sim);
    case 'POST /_sim/clock/hold':
      sim.world.clock.hold();
      return clockStatus(sim);
    case 'POST /_sim/clock/advance': {
      const ms = (body as { ms?: unknown }).ms;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
        return { status: 400, body: { error: 'body needs { "ms": simulated milliseconds >= 0 }' } };
      if (!sim.world.clock.held) return { status: 409, body: { error: 'the clock is not held' } };
      await sim.world.clock.advance(ms);
      return clockStatus(sim);
    }
    case 'POST /_sim/clock/release':
      sim.world.clock.release();
      return clockStatus(sim);
    case 'GET /_sim/instance-connect/keys': {
      const address = url.searchParams.get('address') ?? '';
      const user = url.searchParams.get('user') ?? '';
      return { status: 200, body: sim.instanceConnect.keys(address, user) };
    }
    case 'POST /_sim/instance-connect/endpoints':
      try {
        return { status: 200, body: sim.instanceConnect.addEndpoint(body as EndpointSpec) };
      } catch (err) {
        return { status: 400, body: { error: (err as Error).message } };
      }
    case 'GET /_sim/instance-connect/tunnels':
      return { status: 200, body: sim.instanceConnect.tunnels() };
    case 'POST /_sim/throttle':
      sim.setThrottle(body as Partial<ThrottleOptions>);
      return { status: 200, body: sim.world.throttle.options };
  }
  const limited = /^POST \/_sim\/instance-connect\/endpoints\/([^/]+)\/max-connections$/.exec(route)?.[1];
  if (limited) {
    const max = (body as { max?: unknown }).max;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0)
      return { status: 400, body: { error: 'body needs { "max": concurrent tunnels >= 0 }' } };
    try {
      sim.instanceConnect.setMaxConnections(limited, max);
    } catch (err) {
      return { status: 404, body: { error: (err as Error).message } };
    }
    return { status: 200, body: { ok: true } };
  }
  const faultId = /^DELETE \/_sim\/faults\/(.+)$/.exec(route)?.[1];
  if (faultId) {
    sim.faults.remove(faultId);
    return { status: 200, body: { ok: true } };
  }
  return { status: 404, body: { error: `no control route ${route}` } };
}
