import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { buildFixture, startSimulator, type Simulator } from './index.js';
import { clients, rejection, waitFor } from './testkit.js';

/** A small seeded generator (mulberry32) for a reproducible Math.random. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
    sim.clock.hold(); // no refill at all while the test runs
    sim.setThrottle({
      enabled: true,
      buckets: {
        DescribeInstances: { capacity: 2, refillPerSecond: 1 },
        DescribeAutoScalingGroups: { capacity: 1, refillPerSecond: 1 },
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
    const templates = await ec2.send(new DescribeLaunchTemplatesCommand({}));
    expect(templates.LaunchTemplates).toHaveLength(2);
  });

  it('refills on simulated time: a held clock refills only as far as it is advanced', async () => {
    sim.setLatency({ timeScale: 0.01 });
    sim.setThrottle({ enabled: true, buckets: { DescribeInstances: { capacity: 1, refillPerSecond: 1 } } });
    const { ec2 } = clients(sim, { maxAttempts: 1 });
    sim.clock.hold();
    await ec2.send(new DescribeInstancesCommand({}));
    expect((await rejection(ec2.send(new DescribeInstancesCommand({})))).name).toBe('RequestLimitExceeded');
    await sim.clock.advance(500); // half a token
    expect((await rejection(ec2.send(new DescribeInstancesCommand({})))).name).toBe('RequestLimitExceeded');
    await sim.clock.advance(500);
    await ec2.send(new DescribeInstancesCommand({}));
    expect(sim.calls.map((c) => c.outcome)).toEqual(['ok', 'throttled', 'throttled', 'ok']);
  });

  it('the SDK adaptive retry mode recovers from throttling as the bucket refills', async () => {
    sim.setThrottle({ enabled: true, buckets: { DescribeInstances: { capacity: 3, refillPerSecond: 20 } } });
    const { ec2 } = clients(sim, { retryMode: 'adaptive', maxAttempts: 10 });
    // Held while the burst arrives, so it meets exactly the 3 tokens however slowly it arrives …
    sim.clock.hold();
    const sends = Array.from({ length: 12 }, () => ec2.send(new DescribeInstancesCommand({})));
    const outcome = (o: string) => sim.calls.filter((c) => c.outcome === o).length;
    await waitFor(() => outcome('throttled') >= 9);
    expect(outcome('ok')).toBe(3);
    // … then refilling on scaled real time (20 per second) while the SDK backs off and retries.
    sim.clock.release();
    const results = await Promise.all(sends);
    expect(results).toHaveLength(12);
    expect(outcome('ok')).toBe(12);
    expect(outcome('throttled')).toBeGreaterThanOrEqual(9);
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
    // Math.random from a seeded generator: with the real one, all 10 calls pass unthrottled about one
    // run in 35 (0.7^10). It also draws the SDK's backoff jitter, so the run takes the same time each time.
    const random = vi.spyOn(Math, 'random').mockImplementation(seeded(12));
    try {
      const { ec2 } = clients(sim, { maxAttempts: 10 });
      sim.faults.add({ kind: 'api', service: 'ec2', probability: 0.3, error: 'throttle' });
      for (let i = 0; i < 10; i++) await ec2.send(new DescribeInstancesCommand({}));
      const throttled = sim.calls.filter((c) => c.outcome === 'throttled').length;
      expect(sim.calls.filter((c) => c.outcome === 'ok')).toHaveLength(10);
      expect(throttled).toBeGreaterThan(0);
      expect(throttled).toBeLessThan(10);
      expect(sim.faults.list()[0]?.fired).toBe(throttled);
    } finally {
      random.mockRestore();
    }
  });

  it('slows responses down', async () => {
    const { ec2 } = clients(sim);
    sim.faults.add({ kind: 'api', action: 'DescribeInstances', delayMs: 150 });
    const t = performance.now();
    await ec2.send(new DescribeInstancesCommand({}));
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
  });
});
