import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type Simulator } from './index.js';
import { clients, rejection } from './testkit.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 1 });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await sim.reset();
  sim.setThrottle({ enabled: false, buckets: undefined });
  sim.setLatency({
    timeScale: 1,
    api: { default: 0, RunInstances: 0, CreateImage: 0, StartInstanceRefresh: 0 },
  });
  sim.seed(buildFixture({ groups: 2, instancesPerGroup: 1 }));
});

describe('throttling', () => {
  it('an empty bucket answers RequestLimitExceeded (503) / Throttling (400) as typed errors', async () => {
    sim.setThrottle({
      enabled: true,
      buckets: {
        DescribeInstances: { capacity: 2, refillPerSecond: 0.001 },
        DescribeAutoScalingGroups: { capacity: 1, refillPerSecond: 0.001 },
      },
    });
    const { ec2, asg } = clients(sim, { maxAttempts: 1 });
    await ec2.send(new DescribeInstancesCommand({}));
    await ec2.send(new DescribeInstancesCommand({}));
    const err = await rejection(ec2.send(new DescribeInstancesCommand({})));
    expect(err.name).toBe('RequestLimitExceeded');
    expect(err.$metadata?.httpStatusCode).toBe(503);
    await asg.send(new DescribeAutoScalingGroupsCommand({}));
    const asgErr = await rejection(asg.send(new DescribeAutoScalingGroupsCommand({})));
    expect(asgErr.name).toBe('Throttling');
    expect(asgErr.$metadata?.httpStatusCode).toBe(400);
    expect(sim.calls.filter((c) => c.outcome === 'throttled')).toHaveLength(2);
    // Other actions have their own buckets.
    await ec2.send(new DescribeLaunchTemplatesCommand({}));
  });

  it('the SDK adaptive retry mode recovers from throttling as the bucket refills', async () => {
    sim.setThrottle({ enabled: true, buckets: { DescribeInstances: { capacity: 3, refillPerSecond: 20 } } });
    const { ec2 } = clients(sim, { retryMode: 'adaptive', maxAttempts: 10 });
    const results = await Promise.all(
      Array.from({ length: 12 }, () => ec2.send(new DescribeInstancesCommand({}))),
    );
    expect(results).toHaveLength(12);
    const throttled = sim.calls.filter((c) => c.outcome === 'throttled').length;
    expect(throttled).toBeGreaterThan(0);
    expect(sim.calls.filter((c) => c.outcome === 'ok')).toHaveLength(12);
  });

  it('refills on simulated time: a 100x faster world refills 100x faster', async () => {
    sim.setLatency({ timeScale: 0.01 });
    sim.setThrottle({ enabled: true, buckets: { DescribeInstances: { capacity: 1, refillPerSecond: 1 } } });
    const { ec2 } = clients(sim, { maxAttempts: 1 });
    await ec2.send(new DescribeInstancesCommand({}));
    await new Promise((r) => setTimeout(r, 30)); // 3 simulated seconds
    await ec2.send(new DescribeInstancesCommand({}));
  });
});

describe('fault injection', () => {
  it('fails the Nth call with the given code, then lets calls through', async () => {
    const { ec2 } = clients(sim, { maxAttempts: 1 });
    const image = [...sim.state.images.keys()][0];
    sim.faults.add({
      kind: 'api',
      action: 'RunInstances',
      nth: 2,
      error: { code: 'InsufficientInstanceCapacity', message: 'no capacity', status: 500 },
    });
    await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 }));
    const err = await rejection(
      ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 })),
    );
    expect(err.name).toBe('InsufficientInstanceCapacity');
    expect(err.message).toBe('no capacity');
    await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 }));
  });

  it('fails calls matching the input (RunInstances for one launch template)', async () => {
    const { ec2 } = clients(sim, { maxAttempts: 1 });
    sim.faults.add({
      kind: 'api',
      action: 'RunInstances',
      where: { 'LaunchTemplate.LaunchTemplateName': 'shop-lt-1' },
      error: { code: 'InsufficientInstanceCapacity' },
    });
    await ec2.send(
      new RunInstancesCommand({
        LaunchTemplate: { LaunchTemplateName: 'shop-lt-0' },
        MinCount: 1,
        MaxCount: 1,
      }),
    );
    const err = await rejection(
      ec2.send(
        new RunInstancesCommand({
          LaunchTemplate: { LaunchTemplateName: 'shop-lt-1' },
          MinCount: 1,
          MaxCount: 1,
        }),
      ),
    );
    expect(err.name).toBe('InsufficientInstanceCapacity');
  });

  it('throttles a random fraction of calls; standard retries absorb it', async () => {
    const { ec2 } = clients(sim, { maxAttempts: 10 });
    sim.faults.add({ kind: 'api', service: 'ec2', probability: 0.3, error: 'throttle' });
    for (let i = 0; i < 10; i++) await ec2.send(new DescribeInstancesCommand({}));
    const throttled = sim.calls.filter((c) => c.outcome === 'throttled').length;
    expect(throttled).toBeGreaterThan(0);
    expect(throttled).toBeLessThan(20);
  });

  it('slows responses down', async () => {
    const { ec2 } = clients(sim);
    sim.faults.add({ kind: 'api', action: 'DescribeInstances', delayMs: 150 });
    const t = performance.now();
    await ec2.send(new DescribeInstancesCommand({}));
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
  });
});
