import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock, Logger } from '../../../src/lib/runtime.js';
import { systemClock } from '../../../src/lib/runtime.js';
import type { SshConfig } from '../../../src/config/index.js';
import { createHostKeyVerifier, waitForSsh } from '../../../src/ssh/index.js';
import { fingerprint } from '../../../src/config/known-hosts.js';
import { startInProcessSshServer } from '../../helpers/ssh-server.js';
import { freePort, type TestSshServer } from '../../helpers/sshd.js';

/** What a connection to the fake port gets. */
type Behaviour = 'silent' | 'hangup' | 'banner' | 'preamble' | 'http';

/** A TCP port on 127.0.0.1 whose behaviour the test switches, counting connections per behaviour. */
class FakePort {
  behaviour: Behaviour = 'silent';
  readonly connections: Record<Behaviour, number> = { silent: 0, hangup: 0, banner: 0, preamble: 0, http: 0 };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number) {}

  async listen(behaviour: Behaviour): Promise<void> {
    this.behaviour = behaviour;
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      this.connections[this.behaviour]++;
      switch (this.behaviour) {
        case 'silent':
          break;
        case 'hangup':
          setTimeout(() => socket.destroy(), 50);
          break;
        case 'banner':
          socket.write('SSH-2.0-OpenSSH_9.2\r\n');
          break;
        case 'preamble':
          // RFC 4253 allows other lines before the identification; split across writes on purpose.
          socket.write('Welcome\r\nSSH-2.');
          setTimeout(() => socket.write('0-Custom\r\n'), 20);
          break;
        case 'http':
          socket.write('HTTP/1.1 400 Bad Request\r\n\r\n');
          socket.end();
          break;
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  /** Switches to sending the banner, also on connections already open. */
  answerLate(): void {
    this.behaviour = 'banner';
    for (const socket of this.sockets) socket.write('SSH-2.0-OpenSSH_9.2\r\n');
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger: Logger & { lines: string[] } = {
    lines,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => undefined,
    child: () => logger,
  };
  return logger;
}

/** A clock that only moves when someone sleeps: a 60 s wait takes no real time. */
function fakeClock(): Clock & { sleeps: number } {
  let now = 1_000_000;
  const clock = {
    sleeps: 0,
    now: () => now,
    sleep: async (ms: number, signal?: AbortSignal) => {
      signal?.throwIfAborted();
      clock.sleeps++;
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return clock;
}

const fakes: FakePort[] = [];
async function fakePort(): Promise<FakePort> {
  const fake = new FakePort(await freePort());
  fakes.push(fake);
  return fake;
}
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

const never = new AbortController().signal;

describe('waitForSsh', () => {
  it('waits through refused, hung-up and silent connections until the SSH banner', async () => {
    const fake = await fakePort();
    const log = recordingLogger();
    const started = Date.now();
    const waiting = waitForSsh({
      host: '127.0.0.1',
      port: fake.port,
      timeoutMs: 10_000,
      intervalMs: 50,
      clock: systemClock,
      signal: never,
      log,
    });
    let settled = false;
    void waiting.finally(() => (settled = true)).catch(() => undefined);
    const pause = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 300));

    await pause(); // nothing listening: refused
    expect(settled).toBe(false);
    await fake.listen('hangup');
    await pause();
    expect(settled).toBe(false);
    fake.behaviour = 'silent';
    await pause();
    expect(settled).toBe(false);
    // A busy sshd that accepted the connection answers late: the open attempt sees the banner.
    fake.answerLate();
    await waiting;

    expect(fake.connections.hangup).toBeGreaterThanOrEqual(2);
    expect(fake.connections.silent).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('does not take a silent port for sshd, and names that in the error', async () => {
    const fake = await fakePort();
    await fake.listen('silent');
    const started = Date.now();
    await expect(
      waitForSsh({
        host: '127.0.0.1',
        port: fake.port,
        timeoutMs: 600,
        intervalMs: 50,
        clock: systemClock,
        signal: never,
        log: recordingLogger(),
      }),
    ).rejects.toThrow(
      `SSH on 127.0.0.1:${fake.port} did not answer within 1 s: last error no SSH banner within 600 ms`,
    );
    // The attempt's own timeout is bounded by what remains, so the deadline holds.
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('accepts lines before the identification, split across packets', async () => {
    const fake = await fakePort();
    await fake.listen('preamble');
    await waitForSsh({
      host: '127.0.0.1',
      port: fake.port,
      timeoutMs: 2_000,
      clock: systemClock,
      signal: never,
      log: recordingLogger(),
    });
    expect(fake.connections.preamble).toBe(1);
  });

  it('does not take another protocol for sshd', async () => {
    const fake = await fakePort();
    await fake.listen('http');
    await expect(
      waitForSsh({
        host: '127.0.0.1',
        port: fake.port,
        timeoutMs: 500,
        intervalMs: 50,
        clock: systemClock,
        signal: never,
        log: recordingLogger(),
      }),
    ).rejects.toThrow(/last error connection closed before the SSH banner/);
    expect(fake.connections.http).toBeGreaterThanOrEqual(2);
  });

  it('gives up at the deadline on the clock, probing every interval and logging every ~10 s', async () => {
    const port = await freePort();
    const clock = fakeClock();
    const log = recordingLogger();
    await expect(
      waitForSsh({ host: '127.0.0.1', port, timeoutMs: 60_000, clock, signal: never, log }),
    ).rejects.toThrow(`SSH on 127.0.0.1:${port} did not answer within 60 s: last error ECONNREFUSED`);
    // One probe a second for 60 s.
    expect(clock.sleeps).toBeGreaterThanOrEqual(59);
    expect(clock.sleeps).toBeLessThanOrEqual(61);
    expect(log.lines.length).toBeGreaterThanOrEqual(5);
    expect(log.lines.length).toBeLessThanOrEqual(6);
    expect(log.lines[0]).toMatch(
      new RegExp(`^waiting for SSH on 127\\.0\\.0\\.1:${port} \\(10 s, ECONNREFUSED\\)$`),
    );
  });

  it('stops as soon as the signal aborts, with its reason', async () => {
    const fake = await fakePort();
    await fake.listen('silent');
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    setTimeout(() => controller.abort(reason), 100);
    const started = Date.now();
    await expect(
      waitForSsh({
        host: '127.0.0.1',
        port: fake.port,
        timeoutMs: 30_000,
        clock: systemClock,
        signal: controller.signal,
        log: recordingLogger(),
      }),
    ).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('stops during the wait between probes too', async () => {
    const port = await freePort();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 150);
    const started = Date.now();
    await expect(
      waitForSsh({
        host: '127.0.0.1',
        port,
        timeoutMs: 30_000,
        intervalMs: 10_000,
        clock: systemClock,
        signal: controller.signal,
        log: recordingLogger(),
      }),
    ).rejects.toThrow('stop');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

function sshConfig(overrides: Partial<SshConfig>): SshConfig {
  return {
    user: '',
    privateKey: '',
    port: 22,
    address: 'private',
    timeoutSeconds: 30,
    hostKeyChecking: 'accept-new',
    knownHosts: [],
    ...overrides,
  };
}

/** The host key blob the server presents, as the verifier sees it. */
const hostKeyOf = (server: TestSshServer): Buffer =>
  Buffer.from(server.hostPublicKey.split(' ')[1]!, 'base64');

describe('waitForSsh with a host key policy', () => {
  let server: TestSshServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('completes a key exchange and pins the key the instance proved, by instance id', async () => {
    server = await startInProcessSshServer();
    const hostKeys = createHostKeyVerifier(sshConfig({}));
    const log = recordingLogger();
    const target = { host: server.host, port: server.port, instanceId: 'i-0probe' };
    await waitForSsh({ ...target, timeoutMs: 5_000, clock: systemClock, signal: never, log, hostKeys });

    const key = hostKeyOf(server);
    expect(log.lines).toContain(`SSH host key of i-0probe ([127.0.0.1]:${server.port}): ${fingerprint(key)}`);
    // Pinned: the same key passes, any other is refused for this instance.
    expect(hostKeys.verify(target, key)).toBe(true);
    const other = Buffer.from(key);
    other[other.length - 1]! ^= 1;
    expect(hostKeys.verify(target, other)).toBe(false);
    expect(hostKeys.refusal?.(target, other)).toMatch(/^host key changed for i-0probe/);
  });

  it('fails at once when the key differs from the one pinned earlier for the instance', async () => {
    server = await startInProcessSshServer();
    const hostKeys = createHostKeyVerifier(sshConfig({}));
    const target = { host: server.host, port: server.port, instanceId: 'i-0probe' };
    const earlier = Buffer.from(hostKeyOf(server));
    earlier[earlier.length - 1]! ^= 1;
    expect(hostKeys.verify(target, earlier)).toBe(true);
    const started = Date.now();
    await expect(
      waitForSsh({
        ...target,
        timeoutMs: 30_000,
        clock: systemClock,
        signal: never,
        log: recordingLogger(),
        hostKeys,
      }),
    ).rejects.toThrow(
      new RegExp(
        `^SSH to 127\\.0\\.0\\.1:${server.port}: host key changed for i-0probe .* now ${fingerprint(hostKeyOf(server)).replace(/[+/]/g, '\\$&')}`,
      ),
    );
    // Refused is final: no retrying until the 30 s deadline.
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('in strict mode refuses an unlisted key at readiness and accepts a listed one', async () => {
    server = await startInProcessSshServer();
    const base = {
      host: server.host,
      port: server.port,
      clock: systemClock,
      signal: never,
      timeoutMs: 5_000,
    };
    await expect(
      waitForSsh({
        ...base,
        log: recordingLogger(),
        hostKeys: createHostKeyVerifier(
          sshConfig({ hostKeyChecking: 'strict', knownHosts: [`192.0.2.1 ${server.hostPublicKey}`] }),
        ),
      }),
    ).rejects.toThrow(/no key for \[127\.0\.0\.1\]:\d+ in ssh-known-hosts/);
    await waitForSsh({
      ...base,
      log: recordingLogger(),
      hostKeys: createHostKeyVerifier(
        sshConfig({ hostKeyChecking: 'strict', knownHosts: [server.knownHostsLine] }),
      ),
    });
  });

  it('does not take a banner alone for ready: the key exchange must complete', async () => {
    const fake = await fakePort();
    await fake.listen('banner');
    await expect(
      waitForSsh({
        host: '127.0.0.1',
        port: fake.port,
        timeoutMs: 1_500,
        intervalMs: 50,
        clock: systemClock,
        signal: never,
        log: recordingLogger(),
        hostKeys: createHostKeyVerifier(sshConfig({})),
      }),
    ).rejects.toThrow(/did not answer within 2 s: last error no SSH key exchange within 1(\.\d)? s/);
  });

  it('stops during the key exchange as soon as the signal aborts', async () => {
    const fake = await fakePort();
    await fake.listen('banner');
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    setTimeout(() => controller.abort(reason), 200);
    const started = Date.now();
    await expect(
      waitForSsh({
        host: '127.0.0.1',
        port: fake.port,
        timeoutMs: 30_000,
        clock: systemClock,
        signal: controller.signal,
        log: recordingLogger(),
        hostKeys: createHostKeyVerifier(sshConfig({})),
      }),
    ).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
