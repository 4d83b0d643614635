/**
 * waitIdle against the simulator with the action's own client factory, pointed at it the way users
 * point AWS tools at an emulator (AWS_ENDPOINT_URL): a refresh started through the SDK must keep it
 * waiting until the refresh has really ended, and a refresh that does not end must fail it in time.
 */
import { StartInstanceRefreshCommand, DescribeInstanceRefreshesCommand } from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients, type AwsClients } from '../../src/aws/clients.js';
import { waitIdle } from '../../src/commands/wait-idle.js';
import { systemClock, type Logger } from '../../src/lib/runtime.js';
import { type Runtime } from '../../src/aws/clients.js';
import { buildFixture, startSimulator, type Simulator } from '../sim/index.js';

/** 1 simulated second = 1 real millisecond: a four-batch refresh with 1 s warmups takes well under a second. */
const TimeScale = 0.001;
const Groups = ['shop-asg-0', 'shop-asg-1'];

let sim: Simulator;
let aws: AwsClients;
const savedEnv = { ...process.env };

beforeAll(async () => {
  sim = await startSimulator({ timeScale: TimeScale });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: sim.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  delete process.env.AWS_PROFILE;
  aws = createClients({ region: sim.clientConfig().region, version: 'e2e', maxAttempts: 3 });
});

afterAll(async () => {
  aws?.ec2.destroy();
  aws?.autoScaling.destroy();
  await sim?.stop();
  process.env = savedEnv;
});

beforeEach(async () => {
  await sim.reset();
  sim.seed(buildFixture({ groups: 2, instancesPerGroup: 4 }));
});

function runtime(signal = new AbortController().signal): { rt: Runtime; lines: string[] } {
  const lines: string[] = [];
  const logger = (prefix: string): Logger => ({
    info: (m) => lines.push(`${prefix}${m}`),
    warning: (m) => lines.push(`${prefix}warning: ${m}`),
    error: (m) => lines.push(`${prefix}error: ${m}`),
    debug: () => undefined,
    child: (p) => logger(`[${p}] `),
  });
  return { rt: { ...aws, clock: systemClock, log: logger(''), signal }, lines };
}

async function startRefresh(group: string, preferences: Record<string, unknown> = {}): Promise<string> {
  const started = await aws.autoScaling.send(
    new StartInstanceRefreshCommand({
      AutoScalingGroupName: group,
      Preferences: { MinHealthyPercentage: 75, InstanceWarmup: 60, ...preferences },
    }),
  );
  return started.InstanceRefreshId ?? '';
}

async function statusOf(group: string, id: string): Promise<string> {
  const res = await aws.autoScaling.send(
    new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group, InstanceRefreshIds: [id] }),
  );
  return res.InstanceRefreshes?.[0]?.Status ?? '';
}

describe('waitIdle on the simulator', () => {
  it('returns only after the running refresh has ended', async () => {
    const id = await startRefresh('shop-asg-1');
    expect(['Pending', 'InProgress']).toContain(await statusOf('shop-asg-1', id));
    const { rt, lines } = runtime();

    const started = Date.now();
    await waitIdle({ groups: Groups, timeoutSeconds: 30, pollMs: 20 }, rt);

    expect(await statusOf('shop-asg-1', id)).toBe('Successful');
    expect(Date.now() - started).toBeGreaterThan(50);
    expect(lines).toContain(`[shop-asg-1] No Instance Refresh active any more`);
    expect(lines.at(-1)).toBe('No Instance Refresh is active on 2 groups.');
    // Only the busy group was polled while waiting; the idle one once before and once to confirm.
    const polled = sim.calls.filter(
      (c) => c.action === 'DescribeInstanceRefreshes' && c.params.InstanceRefreshIds === undefined,
    );
    const forIdle = polled.filter((c) => c.params.AutoScalingGroupName === 'shop-asg-0');
    expect(forIdle).toHaveLength(2);
    expect(polled.length).toBeGreaterThan(forIdle.length + 2);
    expect(polled.map((c) => Number(c.params.MaxRecords))).toEqual(polled.map(() => 100));
  });

  it('returns at once when nothing runs', async () => {
    const { rt } = runtime();
    await waitIdle({ groups: Groups, timeoutSeconds: 0, pollMs: 20 }, rt);
    expect(sim.calls.filter((c) => c.action === 'DescribeInstanceRefreshes')).toHaveLength(2);
  });

  it('fails after the timeout, naming the busy group and its refresh', async () => {
    // A checkpoint at 50% with a day's pause keeps the refresh InProgress far beyond the timeout.
    const id = await startRefresh('shop-asg-0', {
      CheckpointPercentages: [50, 100],
      CheckpointDelay: 86_400,
    });
    const { rt } = runtime();
    const started = Date.now();
    await expect(waitIdle({ groups: Groups, timeoutSeconds: 0.5, pollMs: 50 }, rt)).rejects.toThrow(
      new RegExp(`still active after 0\\.5 s on 1 group: shop-asg-0 \\(${id} InProgress`),
    );
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(500);
    expect(took).toBeLessThan(5000);
    expect(await statusOf('shop-asg-0', id)).toBe('InProgress');
  });

  it('stops when the run is aborted', async () => {
    await startRefresh('shop-asg-0', { CheckpointPercentages: [50, 100], CheckpointDelay: 86_400 });
    const controller = new AbortController();
    const { rt } = runtime(controller.signal);
    setTimeout(() => controller.abort(new Error('cancelled by SIGINT')), 100);
    const started = Date.now();
    await expect(waitIdle({ groups: Groups, timeoutSeconds: 60, pollMs: 50 }, rt)).rejects.toThrow(
      'cancelled by SIGINT',
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
