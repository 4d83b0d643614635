/** Fakes shared by the pipeline's unit tests: a clock whose sleeps are instant, a recording logger. */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock, Logger, Runtime } from '../../src/runtime.js';

export interface FakeClock extends Clock {
  /** Every sleep asked for, in ms. */
  readonly sleeps: number[];
}

/** Sleeps advance `now` and resolve on the next turn of the event loop, so waits cost no real time. */
export function fakeClock(start = Date.UTC(2026, 0, 2, 3, 4, 5)): FakeClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        sleeps.push(ms);
        now += ms;
        setImmediate(resolve);
      }),
  };
}

export interface RecordingLogger extends Logger {
  readonly lines: string[];
}

/** Keeps every line with its level and prefix, so tests can assert what a user would read. */
export function recordingLogger(prefix = '', lines: string[] = []): RecordingLogger {
  const line = (level: string, message: string): void => {
    lines.push(`${level} ${prefix ? `[${prefix}] ` : ''}${message}`);
  };
  return {
    lines,
    info: (m) => line('info', m),
    warning: (m) => line('warning', m),
    error: (m) => line('error', m),
    debug: (m) => line('debug', m),
    child: (child) => recordingLogger(prefix ? `${prefix}/${child}` : child, lines),
  };
}

export interface FakeRuntime extends Runtime {
  readonly clock: FakeClock;
  readonly log: RecordingLogger;
  readonly controller: AbortController;
}

/** Real SDK clients (to be mocked with aws-sdk-client-mock) and fakes for the rest. */
export function fakeRuntime(): FakeRuntime {
  const controller = new AbortController();
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  return {
    ec2: new EC2Client({ region: 'eu-west-1', credentials }),
    autoScaling: new AutoScalingClient({ region: 'eu-west-1', credentials }),
    clock: fakeClock(),
    log: recordingLogger(),
    signal: controller.signal,
    controller,
  };
}
