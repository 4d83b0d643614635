/**
 * Instance Refreshes as the built action meets them: one already running on the group when the
 * deploy rolls (each `on-refresh-in-progress` mode), and the `refresh` command end to end.
 */
import {
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeployScript,
  errors,
  orphans,
  output,
  threeGroups,
  transcript,
  useFleet,
  type RefreshOutput,
} from '../helpers/fleet.js';

const fleet = useFleet({ seed: threeGroups });
let autoScaling: AutoScalingClient;
beforeAll(async () => {
  autoScaling = new AutoScalingClient({ ...fleet().sim.clientConfig(), maxAttempts: 3 });
});
afterAll(async () => {
  autoScaling?.destroy();
});

const Group = 'shop-worker';

/** Someone else's refresh: its 100 000 s warmup keeps it running until the test ends it. */
async function startOtherRefresh(): Promise<string> {
  const started = await autoScaling.send(
    new StartInstanceRefreshCommand({
      AutoScalingGroupName: Group,
      Preferences: { MinHealthyPercentage: 50, InstanceWarmup: 100_000 },
    }),
  );
  return started.InstanceRefreshId ?? '';
}

const statusOf = (id: string): string | undefined => fleet().sim.state.refreshes.get(id)?.refresh.Status;

/** Deploys shop-worker alone (one image, so one SSH deploy) with the given mode. */
function deployWorker(mode: 'wait' | 'cancel' | 'fail') {
  return fleet().start(
    fleet().inputs({
      'asg-names': Group,
      upload: 'build',
      'deploy-script': DeployScript,
      'on-refresh-in-progress': mode,
    }),
  );
}

/** StartInstanceRefresh calls for the group, in order, with how each ended. */
const startCalls = (): (string | undefined)[] =>
  fleet()
    .sim.calls.filter((c) => c.action === 'StartInstanceRefresh')
    .map((c) => (c.outcome === 'ok' ? 'ok' : c.code));

describe('a refresh already in progress when the deploy rolls', () => {
  it('wait: ours starts once the running one has ended, and succeeds', async () => {
    const other = await startOtherRefresh();
    const step = deployWorker('wait');
    await step.waitFor(`Waiting for the running Instance Refresh ${other} to end`);
    // Still refused while the other runs; then its owner cancels it and ours may start.
    expect(startCalls()).toEqual(['ok', 'InstanceRefreshInProgress']);
    expect(statusOf(other)).toMatch(/^(Pending|InProgress)$/);
    await autoScaling.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: Group }));
    const main = await step.done;
    expect(main.exitCode, transcript(main)).toBe(0);
    expect(statusOf(other)).toBe('Cancelled');
    const [ours] = output<RefreshOutput[]>(main, 'instance-refreshes');
    expect(ours).toMatchObject({ group: Group, status: 'Successful' });
    expect(ours?.instanceRefreshId).not.toBe(other);
    expect(startCalls()).toEqual(['ok', 'InstanceRefreshInProgress', 'ok']);
    // Ours started only after the other had ended.
    const otherEnded = fleet().sim.state.refreshes.get(other)?.refresh.EndTime;
    const oursStarted = fleet().sim.state.refreshes.get(ours?.instanceRefreshId ?? '')?.refresh.StartTime;
    expect(otherEnded).toBeDefined();
    expect(oursStarted?.getTime()).toBeGreaterThanOrEqual(otherEnded?.getTime() ?? Infinity);
    expect(fleet().sim.state.groups.get(Group)?.LaunchTemplate?.Version).toBe('2');
  });

  it('cancel: the running one is Cancelled and ours succeeds', async () => {
    const other = await startOtherRefresh();
    const main = await deployWorker('cancel').done;
    expect(main.exitCode, transcript(main)).toBe(0);
    expect(statusOf(other)).toBe('Cancelled');
    expect(fleet().sim.calls.filter((c) => c.action === 'CancelInstanceRefresh')).toHaveLength(1);
    expect(main.stdout).toContain(`Cancelling the running Instance Refresh ${other}`);
    const [ours] = output<RefreshOutput[]>(main, 'instance-refreshes');
    expect(ours).toMatchObject({ group: Group, status: 'Successful' });
    expect(ours?.instanceRefreshId).not.toBe(other);
  });

  it('fail: the group fails with a clear message and the running refresh is left alone', async () => {
    const other = await startOtherRefresh();
    const main = await deployWorker('fail').done;
    expect(main.exitCode, transcript(main)).toBe(1);
    const message = `an Instance Refresh is already in progress on ${Group} (on-refresh-in-progress: fail)`;
    expect(errors(main)).toContain(`[${Group}] ${message}`);
    expect(errors(main)).toContain(`1 of 1 Auto Scaling group(s) failed:\n- ${Group}: ${message}`);
    expect(statusOf(other)).toMatch(/^(Pending|InProgress)$/);
    expect(fleet().sim.calls.filter((c) => c.action === 'CancelInstanceRefresh')).toEqual([]);
    expect(main.outputs['instance-refreshes']).toBe('[]');
    // The AMI and version exist, the group was not moved onto them; the instance is gone.
    expect(output<unknown[]>(main, 'launch-template-versions')).toHaveLength(1);
    expect(fleet().sim.state.groups.get(Group)?.LaunchTemplate?.Version).toBe('1');
    expect(orphans(fleet().sim)).toEqual([]);
  });
});

describe('the refresh command', () => {
  it('refreshes every group with the launch template it uses today, creating nothing', async () => {
    const before = new Map(
      ['shop-web', 'shop-api', 'shop-worker'].map((g) => [
        g,
        (fleet().sim.state.groups.get(g)?.Instances ?? []).map((i) => i.InstanceId),
      ]),
    );
    const main = await fleet().main(fleet().inputs({ command: 'refresh' }));
    expect(main.exitCode, transcript(main)).toBe(0);
    const refreshes = output<RefreshOutput[]>(main, 'instance-refreshes');
    expect(refreshes.map((r) => [r.group, r.status])).toEqual([
      ['shop-api', 'Successful'],
      ['shop-web', 'Successful'],
      ['shop-worker', 'Successful'],
    ]);
    for (const [group, old] of before) {
      const now = (fleet().sim.state.groups.get(group)?.Instances ?? []).map((i) => i.InstanceId);
      expect(now).toHaveLength(old.length);
      expect(
        now.filter((id) => old.includes(id)),
        `${group} instances replaced`,
      ).toEqual([]);
    }
    const created = ['RunInstances', 'CreateImage', 'CreateLaunchTemplateVersion', 'ModifyLaunchTemplate'];
    expect(fleet().sim.calls.filter((c) => created.includes(c.action))).toEqual([]);
    expect(fleet().sim.state.templateByName('lt-web')?.template.LatestVersionNumber).toBe(1);
    expect(main.outputs.instances).toBe('[]');
    expect(main.outputs.amis).toBe('[]');
    const post = await fleet().post(main);
    expect(post.exitCode, transcript(post)).toBe(0);
    expect(post.stdout).toContain('No temporary instances to clean up');
  });
});
