/**
 * The built action when parts of a deploy fail: the failing groups are named (in the ::error::
 * annotations and the step's failure message), the others finish, and after the main and the post
 * step no temporary instance is left running.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ActionRun } from '../helpers/action-runner.js';
import {
  DeployScript,
  errors,
  orphans,
  output,
  temporaryInstances,
  threeGroups,
  transcript,
  useFleet,
  type RefreshOutput,
} from '../helpers/fleet.js';

const fleet = useFleet({
  seed: threeGroups,
  beforeSeed: (sim) => sim.setLatency({ transitions: { sshBoot: 20_000 } }),
});
/** Fails (exit 3, two stderr lines) only on the instance built for shop-worker. */
const WorkerFails = 'fail-on-worker.sh';
const WorkerStderr = 'migration 42 failed: disk full on /var';

beforeAll(async () => {
  await writeFile(
    path.join(fleet().workspace, WorkerFails),
    [
      '#!/bin/sh',
      'case "$ASG_ROLLING_GROUPS" in',
      `  *shop-worker*) echo "running migrations" >&2; echo "${WorkerStderr}" >&2; exit 3 ;;`,
      'esac',
      'echo "$ASG_ROLLING_INSTANCE_ID" >> deployed.log',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
});

const refreshStatuses = (run: ActionRun): string[][] =>
  output<RefreshOutput[]>(run, 'instance-refreshes').map((r) => [r.group, r.status]);

/** The step failed naming exactly `groups`, each in an annotation and in the failure message. */
function expectFailedGroups(run: ActionRun, groups: readonly string[], total = 3): string[] {
  expect(run.exitCode, transcript(run)).toBe(1);
  const annotations = errors(run);
  const summary = annotations.find((a) =>
    a.startsWith(`${groups.length} of ${total} Auto Scaling group(s) failed:`),
  );
  expect(summary, annotations.join('\n---\n')).toBeDefined();
  // A cause may span lines (a script's stderr tail): the groups are the lines `- <group>: …`.
  const named = (summary ?? '').split('\n').flatMap((line) => /^- (shop-[a-z]+): /.exec(line)?.[1] ?? []);
  expect(named).toEqual([...groups].sort());
  for (const group of groups)
    expect(
      annotations.some((a) => a.startsWith(`[${group}] `)),
      `annotation for ${group}`,
    ).toBe(true);
  return annotations;
}

/** Runs the post step as the runner would at the end of the job, then checks nothing is left. */
async function expectNoOrphansAfterPost(main: ActionRun): Promise<void> {
  const post = await fleet().post(main);
  expect(post.exitCode, transcript(post)).toBe(0);
  expect(orphans(fleet().sim)).toEqual([]);
}

describe('a deploy with failures, as the runner runs it', () => {
  it("RunInstances fails for one group's template: the others finish, that group is named", async () => {
    const worker = fleet.seeded().launchTemplates['lt-worker'] ?? '';
    fleet().sim.faults.add({
      kind: 'api',
      action: 'RunInstances',
      where: { 'LaunchTemplate.LaunchTemplateId': worker },
      error: {
        code: 'InsufficientInstanceCapacity',
        message: 'We currently do not have sufficient capacity',
      },
    });
    const main = await fleet().main(fleet().inputs({ upload: 'build', 'deploy-script': DeployScript }));
    const annotations = expectFailedGroups(main, ['shop-worker']);
    expect(annotations.join('\n')).toContain('InsufficientInstanceCapacity');
    expect(annotations.join('\n')).toContain(worker);
    expect(refreshStatuses(main)).toEqual([
      ['shop-api', 'Successful'],
      ['shop-web', 'Successful'],
    ]);
    expect(fleet().sim.state.groups.get('shop-worker')?.LaunchTemplate?.Version).toBe('1');
    expect(temporaryInstances(fleet().sim)).toHaveLength(1);
    await expectNoOrphansAfterPost(main);
  });

  it('SSH never answers: every image fails after ssh-timeout and its instance is terminated', async () => {
    fleet().sim.setLatency({ transitions: { sshBoot: 1e12 } });
    const main = await fleet().main(
      fleet().inputs({ upload: 'build', 'deploy-script': DeployScript, 'ssh-timeout': '3' }),
    );
    const annotations = expectFailedGroups(main, ['shop-api', 'shop-web', 'shop-worker']);
    for (const group of ['shop-api', 'shop-web', 'shop-worker']) {
      const line = annotations.find((a) => a.startsWith(`[${group}] `)) ?? '';
      expect(line).toMatch(/SSH/);
      expect(line).toMatch(/3 s/);
    }
    // Both instances were terminated by the main step itself, before the post step.
    const launched = temporaryInstances(fleet().sim);
    expect(launched).toHaveLength(2);
    expect(orphans(fleet().sim)).toEqual([]);
    expect(fleet().sim.calls.filter((c) => c.action === 'CreateImage')).toEqual([]);
    expect(main.outputs['instance-refreshes']).toBe('[]');
    await expectNoOrphansAfterPost(main);
  });

  it("the script exits 3 on one image: its group fails with the script's stderr, the others roll", async () => {
    const inputs = fleet().inputs({ upload: 'build', 'deploy-script': WorkerFails });
    const main = await fleet().main(inputs);
    const annotations = expectFailedGroups(main, ['shop-worker']);
    const worker = annotations.find((a) => a.startsWith('[shop-worker] ')) ?? '';
    expect(worker).toMatch(/\b3\b/);
    expect(worker).toContain(WorkerStderr);
    expect(worker).toContain('running migrations');
    expect(refreshStatuses(main)).toEqual([
      ['shop-api', 'Successful'],
      ['shop-web', 'Successful'],
    ]);
    // No AMI was made from the failed instance.
    const amis = output<{ sourceImageId: string }[]>(main, 'amis');
    expect(amis.map((a) => a.sourceImageId)).toEqual([fleet.seeded().images['base-web']]);
    await expectNoOrphansAfterPost(main);
  });

  it('a refresh that ends RollbackSuccessful fails its group, reported as rolled back', async () => {
    fleet().sim.faults.add({
      kind: 'refresh',
      group: 'shop-api',
      outcome: 'RollbackSuccessful',
      atPercent: 50,
    });
    const main = await fleet().main(fleet().inputs({ upload: 'build', 'deploy-script': DeployScript }));
    const annotations = expectFailedGroups(main, ['shop-api']);
    const refreshes = output<RefreshOutput[]>(main, 'instance-refreshes');
    expect(refreshStatuses(main)).toEqual([
      ['shop-api', 'RollbackSuccessful'],
      ['shop-web', 'Successful'],
      ['shop-worker', 'Successful'],
    ]);
    const api = refreshes.find((r) => r.group === 'shop-api');
    const line = annotations.find((a) => a.startsWith('[shop-api] ')) ?? '';
    expect(line).toContain('RollbackSuccessful');
    expect(line).toContain(api?.instanceRefreshId ?? 'no id');
    expect(api?.statusReason).not.toBe('');
    expect(line).toContain(api?.statusReason);
    // Rolled back to exactly what it had; shop-web, the one group following lt-web's $Default, rolled
    // out version 2, so it became the default and shop-web follows $Default again.
    expect(fleet().sim.state.groups.get('shop-api')?.LaunchTemplate?.Version).toBe('1');
    expect(fleet().sim.state.groups.get('shop-web')?.LaunchTemplate?.Version).toBe('$Default');
    expect(fleet().sim.state.templateByName('lt-web')?.template.DefaultVersionNumber).toBe(2);
    expect(main.summary).toContain('RollbackSuccessful');
    await expectNoOrphansAfterPost(main);
  });

  it('an AMI that ends failed fails its group and is deregistered with its snapshots', async () => {
    const worker = fleet.seeded().images['base-worker'] ?? '';
    const imagesBefore = new Set(fleet().sim.state.images.keys());
    fleet().sim.faults.add({ kind: 'image', name: `*-${worker}-*` });
    const main = await fleet().main(fleet().inputs({ upload: 'build', 'deploy-script': DeployScript }));
    const annotations = expectFailedGroups(main, ['shop-worker']);
    expect(annotations.join('\n')).toMatch(/image ami-\w+ is failed/);
    const failed = fleet().sim.calls.find((c) => c.action === 'DeregisterImage' && c.outcome === 'ok');
    expect(failed?.params, transcript(main)).toMatchObject({ DeleteAssociatedSnapshots: true });
    // Only the AMI of the image that worked is new; no snapshot of the failed one is left.
    const made = [...fleet().sim.state.images.keys()].filter((id) => !imagesBefore.has(id));
    expect(made).toEqual(output<{ imageId: string }[]>(main, 'amis').map((a) => a.imageId));
    const said = /Deregistered (ami-\w+) and its snapshot\(s\) (snap-\w+)/.exec(main.stdout);
    expect(said?.[1], transcript(main)).toBe(failed?.params.ImageId);
    expect(fleet().sim.state.snapshots.has(said?.[2] ?? '')).toBe(false);
    await expectNoOrphansAfterPost(main);
  });
});
