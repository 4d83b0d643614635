/**
 * SSH readiness: is sshd up on the new instance? A TCP connect that reads the server's
 * `SSH-2.0-` identification line answers that in one round trip, without keys or auth, and
 * without waiting for EC2 status checks (the `instance_status_ok` waiter polls every 15 s and waits
 * for more than sshd).
 */
import { Socket } from 'node:net';
import type { Clock, Logger } from '../runtime.js';

const MaxAttemptMs = 5_000;
const LogEveryMs = 10_000;
/** RFC 4253 4.2: the server may send other lines before its identification; bound what we read. */
const MaxBannerBytes = 8_192;

/** What one attempt found; `ready` is the only success. */
type Attempt = { ready: true } | { ready: false; reason: string; timedOut?: boolean };

/**
 * Waits until sshd answers on host:port, probing about every `intervalMs`, so the deploy starts
 * within a second of sshd coming up. Rejects after `timeoutMs` naming the last error, or with
 * the signal's reason as soon as the run is aborted.
 */
export async function waitForSsh(options: {
  host: string;
  port: number;
  timeoutMs: number;
  clock: Clock;
  signal: AbortSignal;
  log: Logger;
  intervalMs?: number;
}): Promise<void> {
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
    const result = await probeOnce({ host, port, timeoutMs: attemptMs, signal });
    if (result.ready) {
      log.debug(`SSH on ${host}:${port} answered after ${attempt} attempt(s)`);
      return;
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
export function probeOnce(options: {
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

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
