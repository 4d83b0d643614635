/**
 * SSH readiness: is sshd up on the new instance? A TCP connect that reads the server's
 * `SSH-2.0-` identification line answers that in one round trip, without keys or auth, and
 * without waiting for EC2 status checks (the `instance_status_ok` waiter polls every 15 s and waits
 * for more than sshd). Given a host key verifier, the probe then completes one SSH key exchange, so
 * the key the instance proves it holds is checked (and, with accept-new, pinned) at readiness, and
 * the deploy connection after it must present the same key.
 */
import { Socket } from 'node:net';
// Must stay above ssh2: see cjs-globals.ts.
import './cjs-globals.js';
import ssh2 from 'ssh2';
import type { Clock, Logger } from '../lib/runtime.js';
import { describeTarget, hostKeyCheck, type HostKeyTarget, type HostKeyVerifier } from './host-keys.js';
import { fingerprint } from '../config/known-hosts.js';

const MaxAttemptMs = 5_000;
/** A key exchange costs a few round trips and some CPU on a busy new instance: allow more than a banner. */
const MaxKeyExchangeMs = 15_000;
const LogEveryMs = 10_000;
/** RFC 4253 4.2: the server may send other lines before its identification; bound what we read. */
const MaxBannerBytes = 8_192;
/** The probe never authenticates (it stops after the key exchange), but ssh2 wants a name. */
const ProbeUser = 'asg-rolling-probe';

/** What one attempt found; `ready` is the only success, `refused` ends the wait at once. */
type Attempt =
  { ready: true; key?: Buffer } | { ready: false; reason: string; timedOut?: boolean; refused?: boolean };

/** What waitForSsh needs; everything after `log` has a default. */
export interface WaitForSshOptions {
  host: string;
  port: number;
  timeoutMs: number;
  clock: Clock;
  signal: AbortSignal;
  log: Logger;
  intervalMs?: number;
  /**
   * The run's host key policy. When given, readiness includes a completed key exchange whose key
   * the verifier accepts (and pins, with accept-new); a refused key fails the wait at once.
   */
  hostKeys?: HostKeyVerifier;
  /** The instance behind host:port, so pins follow the instance rather than its address. */
  instanceId?: string;
}

/**
 * Waits until sshd answers on host:port, probing about every `intervalMs`, so the deploy starts
 * within a second of sshd coming up. Resolves with the host key the instance proved it holds (with
 * `hostKeys`; undefined without), so setup can hand it to the user's own deploy tool. Rejects after
 * `timeoutMs` naming the last error, at once when the host key is refused (waiting cannot change a
 * key), or with the signal's reason as soon as the run is aborted.
 */
export async function waitForSsh(options: WaitForSshOptions): Promise<Buffer | undefined> {
  const { host, port, clock, signal, log } = options;
  const intervalMs = options.intervalMs ?? 1_000;
  const start = clock.now();
  const deadline = start + options.timeoutMs;
  let lastLog = start;
  let lastReason: string | undefined;
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    const attemptStart = clock.now();
    const attemptMs = Math.max(1, Math.min(MaxAttemptMs, deadline - attemptStart));
    let result = await probeOnce({ host, port, timeoutMs: attemptMs, signal });
    if (result.ready && options.hostKeys) {
      const target: HostKeyTarget = { host, port, instanceId: options.instanceId };
      const exchangeMs = Math.max(1_000, Math.min(MaxKeyExchangeMs, deadline - clock.now()));
      result = await exchangeKeys({ target, hostKeys: options.hostKeys, timeoutMs: exchangeMs, signal });
      if (!result.ready && result.refused) throw new Error(`SSH to ${host}:${port}: ${result.reason}`);
    }
    if (result.ready) {
      log.debug(`SSH on ${host}:${port} answered after ${attempt} attempt(s)`);
      if (result.key && options.hostKeys) {
        const target = describeTarget({ host, port, instanceId: options.instanceId });
        // Once per instance, so a user can compare it with what the instance printed to its console.
        log.info(`SSH host key of ${target}: ${fingerprint(result.key)}`);
        const notice = options.hostKeys.notice?.();
        if (notice) log.warning(notice);
      }
      return result.key;
    }
    // A last attempt cut short by the deadline says less than the full attempts before it
    // (a timeout after 3 ms is not news when every attempt so far was refused).
    const cut = result.timedOut === true && attemptMs < MaxAttemptMs && lastReason !== undefined;
    if (!cut) lastReason = result.reason;
    const now = clock.now();
    if (now >= deadline) {
      throw new Error(
        `SSH on ${host}:${port} did not answer within ${Math.round(options.timeoutMs / 1000)} s: last error ${lastReason}`,
      );
    }
    if (now - lastLog >= LogEveryMs) {
      lastLog = now;
      log.info(`waiting for SSH on ${host}:${port} (${Math.round((now - start) / 1000)} s, ${lastReason})`);
    }
    // Keep a steady cadence: an attempt that took long (a connect timeout) is not followed by a full wait.
    const wait = Math.min(intervalMs - (now - attemptStart), deadline - now);
    if (wait > 0) await clock.sleep(wait, signal);
  }
}

/** One TCP connect that reads until an `SSH-` identification line, an error or the attempt timeout. */
function probeOnce(options: {
  host: string;
  port: number;
  timeoutMs: number;
  signal: AbortSignal;
}): Promise<Attempt> {
  const { host, port, timeoutMs, signal } = options;
  return new Promise<Attempt>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = new Socket();
    let received = '';
    let connected = false;
    const finish = (result: Attempt | { abort: unknown }): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      if ('abort' in result) reject(result.abort);
      else resolve(result);
    };
    const onAbort = (): void => finish({ abort: signal.reason });
    const timer = setTimeout(
      () =>
        finish({
          ready: false,
          reason: connected ? `no SSH banner within ${formatMs(timeoutMs)}` : `ETIMEDOUT`,
          timedOut: true,
        }),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
      const lines = received.split('\n');
      // Every line but the last is complete.
      for (const line of lines.slice(0, -1)) {
        if (line.startsWith('SSH-')) {
          finish(
            line.startsWith('SSH-2.0-') || line.startsWith('SSH-1.99-')
              ? { ready: true }
              : { ready: false, reason: `unsupported SSH version '${line.trim()}'` },
          );
          return;
        }
      }
      if (received.length > MaxBannerBytes)
        finish({ ready: false, reason: 'no SSH banner (not an SSH server?)' });
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({ ready: false, reason: error.code ?? error.message }),
    );
    socket.on('close', () =>
      finish({ ready: false, reason: connected ? 'connection closed before the SSH banner' : 'ECONNRESET' }),
    );
    socket.connect({ host, port });
  });
}

/**
 * One SSH connection that stops once the key exchange is complete: by then the server has signed
 * the exchange with its host key, so the key is proved and can be pinned. No authentication is
 * attempted, so nothing is logged as a failed login on the instance.
 */
export function exchangeKeys(options: {
  target: HostKeyTarget;
  hostKeys: HostKeyVerifier;
  timeoutMs: number;
  signal: AbortSignal;
}): Promise<Attempt> {
  const { target, hostKeys, timeoutMs, signal } = options;
  return new Promise<Attempt>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const check = hostKeyCheck(hostKeys, target);
    const client = new ssh2.Client();
    let done = false;
    const finish = (result: Attempt | { abort: unknown }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.destroy();
      if ('abort' in result) reject(result.abort);
      else resolve(result);
    };
    const failed = (reason: string): Attempt => {
      const refused = check.refused();
      return refused ? { ready: false, reason: refused, refused: true } : { ready: false, reason };
    };
    const onAbort = (): void => finish({ abort: signal.reason });
    const timer = setTimeout(
      () =>
        finish({ ready: false, reason: `no SSH key exchange within ${formatMs(timeoutMs)}`, timedOut: true }),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    client.on('handshake', () => {
      const refused = check.confirm();
      const key = check.key();
      finish(
        refused || !key
          ? { ready: false, reason: refused ?? 'no host key', refused: true }
          : { ready: true, key },
      );
    });
    client.on('error', (error: Error) => finish(failed(`SSH key exchange: ${error.message}`)));
    client.on('close', () => finish(failed('connection closed during the SSH key exchange')));
    const serverHostKey = check.algorithms();
    client.connect({
      host: target.host,
      port: target.port,
      username: ProbeUser,
      // Ask for the key type known_hosts lists, so a server with several keys shows that one.
      ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
      hostVerifier: (key: Buffer) => check.hostVerifier(key),
      // Our own timer bounds the attempt; ssh2's must not fire first with a vaguer message.
      readyTimeout: timeoutMs + 5_000,
    });
  });
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
