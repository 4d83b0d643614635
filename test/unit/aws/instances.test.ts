// Terminating an instance seconds after its launch, against the simulator's eventual-consistency
// window: EC2 may answer InvalidInstanceID.NotFound for an id it does not list yet, which does not
// mean the instance is gone (Eventual consistency in the Amazon EC2 API,
// https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { terminateFresh, terminateInstances } from '../../../src/aws/instances.js';
import type { Clock, Logger } from '../../../src/lib/runtime.js';
import { startSimulator, type Simulator } from '../../sim/index.js';

let sim: Simulator;
let ec2: EC2Client;
let templateId: string;

const quiet: Logger = {
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  child: () => quiet,
} as unknown as Logger;

/** A clock whose sleeps move the simulator's held clock: no real time passes. */
const simClock = (): Clock => ({
  now: () => sim.clock.simTime(),
  sleep: async (ms) => {
    await sim.clock.advance(ms);
  },
});

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.001 });
  ec2 = new EC2Client({ ...sim.clientConfig(), maxAttempts: 1 });
});
afterAll(async () => {
  await sim.stop();
});
beforeEach(async () => {
  await sim.reset();
  sim.setLatency({ consistency: { instances: 5_000 } });
  const seeded = sim.seed({
    images: [{ name: 'base' }],
    launchTemplates: [{ name: 'lt', versions: [{ imageName: 'base' }] }],
  });
  templateId = seeded.launchTemplates.lt ?? '';
  sim.clock.hold();
});

async function launch(): Promise<string> {
  const res = await ec2.send(
    new RunInstancesCommand({
      LaunchTemplate: { LaunchTemplateId: templateId, Version: '1' },
      MinCount: 1,
      MaxCount: 1,
    }),
  );
  return res.Instances?.[0]?.InstanceId ?? '';
}

const stateOf = (id: string): string | undefined => sim.state.instances.get(id)?.instance.State?.Name;

describe('terminating a fresh instance', () => {
  it('terminateInstances takes the NotFound of a fresh id for gone and leaves it running', async () => {
    const id = await launch();
    await terminateInstances(ec2, [id], quiet);
    expect(stateOf(id)).toBe('pending');
  });

  it('terminateFresh tries again until EC2 knows the id, and the instance goes', async () => {
    const id = await launch();
    await terminateFresh(ec2, [id], {
      log: quiet,
      retry: { clock: simClock(), delayMs: 2_000, attempts: 5 },
    });
    expect(stateOf(id)).toBe('shutting-down');
  });

  it('terminateFresh takes an id for gone after its attempts, without throwing', async () => {
    await terminateFresh(ec2, ['i-0123456789abcdef0'], {
      log: quiet,
      retry: { clock: simClock(), delayMs: 1_000, attempts: 3 },
    });
    expect(sim.calls.filter((c) => c.action === 'TerminateInstances')).toHaveLength(3);
  });
});
