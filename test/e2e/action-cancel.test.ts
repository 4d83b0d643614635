/**
 * A cancelled job, as GitHub cancels it (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that):
 * every temporary instance must be terminated within that 10 s window, measured from the signal to
 * the last TerminateInstances the simulator recorded, and the post step the runner still runs at
 * the end of the job must find nothing left, or terminate what is.
 */
import { describe, expect, it } from 'vitest';
import type { ActionHandle, ActionRun } from '../helpers/action-runner.js';
import {
  DeployScript,
  isGone,
  orphans,
  temporaryInstances,
  threeGroups,
  transcript,
  useFleet,
} from '../helpers/fleet.js';

/** GitHub kills the process 10 s after its first signal. */
const CancelWindowMs = 10_000;

const fleet = useFleet({ seed: threeGroups });

function deploy(): ActionHandle {
  return fleet().start(
    fleet().inputs({ upload: 'build', 'deploy-script': DeployScript, 'max-parallel': '2' }),
  );
}

/** The RunInstances calls that launch, not the preflight's DryRun of them. */
const realLaunches = () => fleet().sim.sent('RunInstances');

/** Milliseconds from `signalledAt` to the last TerminateInstances the simulator answered. */
function lastTerminateAfter(signalledAt: number): number {
  const terminates = fleet().sim.calls.filter((c) => c.action === 'TerminateInstances' && c.outcome === 'ok');
  const last = terminates.at(-1);
  if (!last) throw new Error('no TerminateInstances call was recorded');
  return Date.parse(last.time) - signalledAt;
}

/** Resolves once `done()` holds, checking every 50 ms; rejects after 20 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the simulator');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The main step ended by the signal, then the runner's post step: nothing is left running. */
async function expectCleanAfterPost(main: ActionRun): Promise<ActionRun> {
  const post = await fleet().post(main);
  expect(post.exitCode, transcript(post)).toBe(0);
  expect(orphans(fleet().sim)).toEqual([]);
  return post;
}

describe('a cancelled deploy', () => {
  it('SIGTERM while waiting for SSH: both instances are terminated within the window', async () => {
    fleet().sim.setLatency({ transitions: { sshBoot: 1e12 } });
    const step = deploy();
    await step.waitFor(/Waiting for SSH[^\n]*\n(?:.*\n)*.*Waiting for SSH/);
    expect(temporaryInstances(fleet().sim)).toHaveLength(2);
    const signalledAt = Date.now();
    step.kill('SIGTERM');
    const main = await step.done;
    // Ended by the handler (143) or, having wound down first, failed naming the cancel.
    expect(main.exitCode, transcript(main)).not.toBe(0);
    expect(main.stdout).toContain('Received SIGTERM');
    const launched = temporaryInstances(fleet().sim);
    expect(launched).toHaveLength(2);
    for (const instance of launched) expect(isGone(instance), instance.InstanceId).toBe(true);
    expect(lastTerminateAfter(signalledAt)).toBeLessThan(CancelWindowMs);
    // The main step terminated everything: the post step has nothing to do.
    const before = fleet().sim.calls.filter((c) => c.action === 'TerminateInstances').length;
    await expectCleanAfterPost(main);
    expect(fleet().sim.calls.filter((c) => c.action === 'TerminateInstances')).toHaveLength(before);
  });

  it("the runner's cancel while RunInstances is in flight: the instances it returns are terminated", async () => {
    // Each launch takes 3 s to answer, so the signal arrives while both are on their way.
    fleet().sim.faults.add({ kind: 'api', action: 'RunInstances', delayMs: 3_000 });
    const step = deploy();
    await step.waitFor('::endgroup::');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const signalledAt = Date.now();
    step.cancel();
    const main = await step.done;
    expect(main.exitCode, transcript(main)).not.toBe(0);
    // The simulator, like AWS, carries out a launch whose caller stopped listening.
    await until(() => realLaunches().length === 2);
    const launches = realLaunches();
    // Both launches were answered after the signal: they really were in flight.
    expect(launches).toHaveLength(2);
    for (const call of launches) expect(Date.parse(call.time)).toBeGreaterThan(signalledAt);
    const launched = temporaryInstances(fleet().sim);
    expect(launched).toHaveLength(2);
    for (const instance of launched) expect(isGone(instance), instance.InstanceId).toBe(true);
    expect(lastTerminateAfter(signalledAt)).toBeLessThan(CancelWindowMs);
    await expectCleanAfterPost(main);
  });

  it('killed while RunInstances is in flight: the post step finds the instances by launch token', async () => {
    fleet().sim.faults.add({ kind: 'api', action: 'RunInstances', delayMs: 2_000 });
    const step = deploy();
    await step.waitFor('::endgroup::');
    await new Promise((resolve) => setTimeout(resolve, 500));
    step.kill('SIGKILL');
    const main = await step.done;
    expect(main.signal).toBe('SIGKILL');
    await until(() => realLaunches().length === 2);
    // Launched after the step died: their ids were never saved, only the step's launch token.
    expect(orphans(fleet().sim)).toHaveLength(2);
    expect(JSON.parse(main.state['temporary-instances'] ?? '[]')).toEqual([]);
    const post = await expectCleanAfterPost(main);
    expect(post.stdout).toMatch(/Found temporary instance\(s\) i-\w+, i-\w+ whose launch/);
  });
});
