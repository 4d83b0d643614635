/**
 * Split mode as a workflow runs it: `setup` in one step, the user's own deploy over SSH in the next
 * (here the test itself, with node-ssh, to the addresses setup put in its outputs), `finalize` in a
 * later step with setup's GITHUB_ENV applied, then the post steps at the end of the job.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { NodeSSH } from 'node-ssh';
import { describe, expect, it } from 'vitest';
import { SetupResultVariable } from '../../src/config/hand-off.js';
import { State } from '../../src/lib/constants.js';
import {
  errors,
  isGone,
  orphans,
  output,
  temporaryInstances,
  threeGroups,
  transcript,
  useFleet,
  type RefreshOutput,
} from '../helpers/fleet.js';

const fleet = useFleet({ seed: threeGroups });

interface InstanceOutput {
  instanceId: string;
  address: string;
  imageId: string;
  groups: string[];
}

/** The user's own deploy step: one SSH session per instance, as Capistrano or Ansible would. */
async function userDeploy(instances: readonly InstanceOutput[], dir: string): Promise<void> {
  for (const instance of instances) {
    const ssh = new NodeSSH();
    await ssh.connect({
      host: instance.address,
      port: fleet().gatePort,
      username: fleet().ssh.user,
      privateKey: fleet().ssh.privateKey,
      readyTimeout: 20_000,
    });
    try {
      const result = await ssh.execCommand(
        `mkdir -p '${dir}' && echo "${instance.instanceId} ${instance.address}" >> '${dir}/user-deploy.log'`,
      );
      expect(result.code, result.stderr).toBe(0);
    } finally {
      ssh.dispose();
    }
  }
}

describe('split mode, as a workflow runs it', () => {
  it('setup, the user deploys over SSH, finalize bakes and rolls; post steps find nothing left', async () => {
    const setup = await fleet().main(fleet().inputs({ command: 'setup' }));
    expect(setup.exitCode, transcript(setup)).toBe(0);
    const instances = output<InstanceOutput[]>(setup, 'instances');
    expect(instances.map((i) => [...i.groups].sort().join(',')).sort()).toEqual([
      'shop-api,shop-web',
      'shop-worker',
    ]);
    // Running, and kept for the later steps: registered for the post step, handed over in GITHUB_ENV.
    for (const instance of temporaryInstances(fleet().sim)) expect(instance.State?.Name).toBe('running');
    expect(setup.env[SetupResultVariable]).toBeDefined();
    expect(JSON.parse(setup.state[State.TemporaryInstances] ?? '[]')).toHaveLength(2);
    expect(fleet().sim.calls.filter((c) => c.action === 'CreateImage')).toEqual([]);

    const dir = path.join(fleet().workspace, 'user-step');
    await userDeploy(instances, dir);
    const deployed = (await readFile(path.join(dir, 'user-deploy.log'), 'utf8')).trim().split('\n');
    expect(deployed.sort()).toEqual(instances.map((i) => `${i.instanceId} ${i.address}`).sort());

    const finalize = await fleet().main(fleet().inputs({ command: 'finalize', 'asg-tags': '' }), {
      after: setup,
    });
    expect(finalize.exitCode, transcript(finalize)).toBe(0);
    expect(errors(finalize)).toEqual([]);
    // Finalize used setup's instances: no launch of its own, one AMI from each. The preflights'
    // DryRun requests are not launches: setup's checked its launches, finalize's the instances.
    const real = fleet().sim.calls.filter((c) => c.params.DryRun !== true);
    expect(real.filter((c) => c.action === 'RunInstances')).toHaveLength(2);
    const checked = (action: string): string[] =>
      fleet()
        .sim.calls.filter((c) => c.action === action && c.params.DryRun === true)
        .flatMap(
          (c) =>
            (c.params as { InstanceIds?: string[]; InstanceId?: string }).InstanceIds ?? [
              String(c.params.InstanceId),
            ],
        );
    const ids = instances.map((i) => i.instanceId).sort();
    for (const action of ['StopInstances', 'CreateImage', 'TerminateInstances'])
      expect([action, checked(action).sort()]).toEqual([action, ids]);
    const amis = output<{ imageId: string }[]>(finalize, 'amis');
    expect(amis).toHaveLength(2);
    const imaged = real
      .filter((c) => c.action === 'CreateImage')
      .map((c) => (c.params as { InstanceId?: string }).InstanceId);
    expect(imaged.sort()).toEqual(instances.map((i) => i.instanceId).sort());
    expect(output<RefreshOutput[]>(finalize, 'instance-refreshes').map((r) => [r.group, r.status])).toEqual([
      ['shop-api', 'Successful'],
      ['shop-web', 'Successful'],
      ['shop-worker', 'Successful'],
    ]);
    expect(orphans(fleet().sim)).toEqual([]);

    // At the end of the job the runner runs the post steps in reverse order: finalize's, then setup's.
    // Setup's post still holds its instance ids (steps do not share state); terminating an instance
    // that is already gone is a no-op on AWS, so it may ask again but must find nothing alive.
    const gone = new Set(
      temporaryInstances(fleet().sim)
        .filter(isGone)
        .map((i) => i.InstanceId),
    );
    expect(gone.size).toBe(2);
    for (const step of [finalize, setup]) {
      const seq = fleet().sim.calls.length;
      const post = await fleet().post(step, { after: finalize });
      expect(post.exitCode, transcript(post)).toBe(0);
      expect(post.annotations, post.stdout).toEqual([]);
      const calls = fleet().sim.calls.slice(seq);
      expect(calls.every((c) => c.action === 'TerminateInstances')).toBe(true);
      for (const call of calls)
        for (const id of (call.params as { InstanceIds?: string[] }).InstanceIds ?? [])
          expect(gone.has(id), id).toBe(true);
    }
    for (const instance of temporaryInstances(fleet().sim)) expect(isGone(instance)).toBe(true);
  });

  it('setup alone: the post step at the end of the job terminates the instances', async () => {
    const setup = await fleet().main(fleet().inputs({ command: 'setup', 'asg-names': 'shop-worker' }));
    expect(setup.exitCode, transcript(setup)).toBe(0);
    expect(orphans(fleet().sim)).toHaveLength(1);
    const post = await fleet().post(setup);
    expect(post.exitCode, transcript(post)).toBe(0);
    expect(post.stdout).toMatch(/Terminated temporary instance\(s\) i-\w+/);
    expect(orphans(fleet().sim)).toEqual([]);
  });
});
