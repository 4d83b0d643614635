/** Fakes shared by the pipeline's unit tests: a clock whose sleeps are instant, a recording logger. */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Config } from '../../src/config/index.js';
import type { PlannedGroup, PlannedImage } from '../../src/phases/plan.js';
import { createPollers, type PipelineContext, type PollIntervals } from '../../src/phases/context.js';
import type { Clock, Logger } from '../../src/lib/runtime.js';
import type { Runtime } from '../../src/aws/clients.js';
import { InstanceRegistry } from '../../src/phases/instance-registry.js';
import { Timeline } from '../../src/report/timeline.js';

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

/** A complete Config with the action's defaults; tests override what they exercise. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    command: 'deploy',
    selection: { names: [], tags: [{ key: 'app', value: 'shop' }] },
    maxParallel: 8,
    region: 'eu-west-1',
    ssh: {
      user: 'deploy',
      privateKey: 'KEY',
      port: 22,
      address: 'private',
      timeoutSeconds: 300,
      hostKeyChecking: 'accept-new',
      knownHosts: [],
    },
    deploy: {
      upload: ['build'],
      uploadDir: 'asg-rolling',
      script: 'deploy.sh',
      env: { STAGE: 'stage-value-1' },
      timeoutSeconds: 1800,
    },
    keepInstances: false,
    bake: {
      stopBeforeImage: true,
      amiNamePrefix: 'shop',
      amiTags: [],
      timeoutSeconds: 3600,
      reuseImage: true,
    },
    roll: {
      minHealthyPercentage: 90,
      maxHealthyPercentage: 100,
      instanceWarmup: undefined,
      skipMatching: false,
      checkpointPercentages: [],
      checkpointDelay: undefined,
      autoRollback: true,
      alarms: [],
      bakeTime: undefined,
      scaleInProtectedInstances: 'Ignore',
      standbyInstances: 'Ignore',
      waitForRefresh: true,
      timeoutSeconds: 3600,
      onRefreshInProgress: 'wait',
    },
    cleanup: { keep: 5, orphanAgeMinutes: 360, dryRun: false },
    rollbackTo: { kind: 'previous' },
    dryRun: false,
    preflight: true,
    github: {
      enabled: false,
      token: '',
      environment: '',
      apiUrl: 'https://api.github.com',
      owner: '',
      repo: '',
    },
    run: { runId: '42-1', commit: 'abcdef0123456789', workspace: '/ws', runUrl: '', pollScale: 1 },
    setupResult: undefined,
    ...overrides,
  };
}

export interface TestContext extends PipelineContext {
  readonly rt: FakeRuntime;
  readonly saved: Map<string, string>;
}

/** A pipeline context over a fake runtime, with state saved into a map. */
export function testContext(config: Config = testConfig(), rt: FakeRuntime = fakeRuntime()): TestContext {
  const saved = new Map<string, string>();
  const intervals: PollIntervals = { instanceMs: 2000, imageMs: 5000, refreshMs: 10_000, sshMs: 1000 };
  return {
    config,
    rt,
    saved,
    registry: new InstanceRegistry((name, value) => saved.set(name, value)),
    pollers: createPollers(rt, intervals),
    timeline: new Timeline(rt.clock),
    actionVersion: '9.9.9',
    intervals,
  };
}

/** A group planned on lt-1 version 4 (by number) booting ami-old; tests override what they need. */
export function plannedGroup(overrides: Partial<PlannedGroup> = {}): PlannedGroup {
  return {
    name: 'web',
    launchTemplateId: 'lt-1',
    launchTemplateName: 'web',
    version: 4,
    versionRef: 'number',
    mixedInstancesPolicy: undefined,
    sourceImageId: 'ami-old',
    versionDescription: 'asg-rolling run 41-1 commit 0123abc',
    ...overrides,
  };
}

/** An image planned from lt-1 version 4 (ami-old) for the given groups. */
export function plannedImage(
  groups: readonly PlannedGroup[] = [plannedGroup()],
  overrides: Partial<PlannedImage> = {},
): PlannedImage {
  return {
    sourceImageId: 'ami-old',
    launchTemplateId: 'lt-1',
    version: 4,
    subnetIds: ['subnet-a'],
    groups,
    ...overrides,
  };
}

/** An error shaped as the SDK throws a service exception: the AWS error code is its name. */
export function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}
