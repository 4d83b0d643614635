/**
 * The post step when the main step died at a bad moment: launches still on their way when it was
 * killed (their instances appear only after the post step started), and instances it cannot
 * terminate (no credentials). Nothing may be left running unnoticed: found and terminated, or the
 * post step fails naming the ids.
 */
import { describe, expect, it } from 'vitest';
import type { ActionHandle, ActionRun } from '../helpers/action-runner.js';
import {
  DeployScript,
  orphans,
  temporaryInstances,
  threeGroups,
  transcript,
  useFleet,
} from '../helpers/fleet.js';

const fleet = useFleet({ seed: threeGroups });

/** Resolves once `done()` holds, checking every 50 ms; rejects after 20 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the simulator');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A deploy of both groups, SIGKILLed once `ready` resolves (as a runner losing its machine would). */
async function killedDeploy(ready: (step: ActionHandle) => Promise<void>): Promise<ActionRun> {
  const step = fleet().start(
    fleet().inputs({ upload: 'build', 'deploy-script': DeployScript, 'max-parallel': '2' }),
  );
  await ready(step);
  step.kill('SIGKILL');
  const main = await step.done;
  expect(main.signal).toBe('SIGKILL');
  return main;
}

const calls = (action: string) => fleet().sim.sent(action);

describe('the post step after a killed main step', () => {
  it('run at once while RunInstances is still on its way: it waits for the instances and terminates them', async () => {
    // Each launch answers 10 s after it was sent (longer than the post step takes to start on a busy
    // machine); the step dies while both are on their way.
    fleet().sim.faults.add({ kind: 'api', action: 'RunInstances', delayMs: 10_000 });
    const main = await killedDeploy(() => until(() => fleet().sim.faults.list()[0]?.seen === 2));
    expect(calls('RunInstances')).toHaveLength(0);
    const postStartedAt = Date.now();
    // A poll scale of 0.2 makes the search window 36 s instead of three minutes.
    const post = await fleet().post(main, { env: { ASG_ROLLING_POLL_SCALE: '0.2' } });
    expect(post.exitCode, transcript(post)).toBe(0);
    // Both launches landed after the post step's first look: a single look would have found nothing.
    const launches = calls('RunInstances');
    expect(launches).toHaveLength(2);
    const firstLook = calls('DescribeInstances').find((c) => Date.parse(c.time) > postStartedAt);
    expect(firstLook).toBeDefined();
    for (const call of launches)
      expect(Date.parse(call.time)).toBeGreaterThan(Date.parse(firstLook?.time ?? ''));
    expect(post.stdout).toContain('yet; looking again in');
    expect(post.stdout).toMatch(/Found temporary instance\(s\) i-\w+, i-\w+ whose launch/);
    expect(orphans(fleet().sim)).toEqual([]);
  });

  it('without credentials: it fails with an error naming the instances left running', async () => {
    fleet().sim.setLatency({ transitions: { sshBoot: 1e12 } });
    const main = await killedDeploy(async (step) => {
      await step.waitFor(/Waiting for SSH[^\n]*\n(?:.*\n)*.*Waiting for SSH/);
      expect(temporaryInstances(fleet().sim)).toHaveLength(2);
    });
    const saved = JSON.parse(main.state['temporary-instances'] ?? '[]') as string[];
    expect(saved).toHaveLength(2);
    const post = await fleet().post(main, {
      env: {
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        // No other credential source either, and never the instance metadata address.
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
        AWS_CONFIG_FILE: '/nonexistent/config',
      },
    });
    expect(post.exitCode, transcript(post)).toBe(1);
    const annotation = post.stdout.split('\n').find((line) => line.startsWith('::error::'));
    expect(annotation).toContain(`Temporary instance(s) ${saved.join(', ')} may still be running`);
    expect(orphans(fleet().sim)).toHaveLength(2);
    // With credentials again, the same post step terminates them.
    const retry = await fleet().post(main);
    expect(retry.exitCode, transcript(retry)).toBe(0);
    expect(orphans(fleet().sim)).toEqual([]);
  });
});
