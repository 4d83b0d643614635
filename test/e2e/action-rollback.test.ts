/**
 * `rollback` on the built action: after deploys of commits A and B, each group returns to A's image
 * with no instance launched and no image made, by `previous` or by A's commit; a group whose target
 * cleanup deleted fails saying so while the others roll.
 */
import { describe, expect, it } from 'vitest';
import type { ActionRun } from '../helpers/action-runner.js';
import {
  ageEverything,
  errors,
  mutatingCalls,
  output,
  threeGroups,
  transcript,
  useFleet,
  type RefreshOutput,
} from '../helpers/fleet.js';
import type { RunPlan } from '../../src/report/plan.js';

const fleet = useFleet({ seed: threeGroups });

const Groups = ['shop-api', 'shop-web', 'shop-worker'] as const;
const sha = (letter: string): string => letter.repeat(40);

/** A deploy of `commit` that keeps what it replaces (cleanup-keep 5), so older images stay targets. */
async function deploy(commit: string): Promise<ActionRun> {
  const run = await fleet().main(fleet().inputs({ upload: 'build', 'cleanup-keep': '5' }), {
    env: { GITHUB_SHA: commit },
  });
  expect(run.exitCode, transcript(run)).toBe(0);
  return run;
}

/** The AMI each group got from a deploy, by group. */
function amisOf(run: ActionRun): Map<string, string> {
  const amis = output<{ imageId: string; groups: string[] }[]>(run, 'amis');
  return new Map(Groups.map((g) => [g, amis.find((a) => a.groups.includes(g))?.imageId ?? '?']));
}

/** The image each group's launch template reference resolves to in the simulator now. */
function runningImages(): Map<string, string> {
  const { sim } = fleet();
  return new Map(
    Groups.map((name) => {
      const spec = sim.state.groups.get(name)?.LaunchTemplate;
      const template = [...sim.state.templates.values()].find(
        (t) =>
          t.template.LaunchTemplateId === spec?.LaunchTemplateId ||
          t.template.LaunchTemplateName === spec?.LaunchTemplateName,
      );
      const number =
        spec?.Version === '$Default'
          ? template?.template.DefaultVersionNumber
          : spec?.Version === '$Latest'
            ? template?.template.LatestVersionNumber
            : Number(spec?.Version);
      return [name, template?.versions.get(number ?? 0)?.LaunchTemplateData?.ImageId ?? '?'];
    }),
  );
}

/** The image of every InService instance of a group, deduplicated. */
function instanceImages(group: string): string[] {
  return [
    ...new Set(
      [...fleet().sim.state.instances.values()]
        .filter((r) => r.groupName === group && r.instance.State?.Name === 'running')
        .map((r) => r.instance.ImageId ?? '?'),
    ),
  ];
}

const calls = (action: string): number => fleet().sim.sent(action).length;

function expectRolledBackTo(run: ActionRun, images: Map<string, string>, groups: readonly string[]): void {
  expect(calls('RunInstances')).toBe(0);
  expect(calls('CreateImage')).toBe(0);
  const refreshes = output<RefreshOutput[]>(run, 'instance-refreshes');
  for (const group of groups) {
    expect(refreshes.find((r) => r.group === group)?.status, group).toBe('Successful');
    expect(runningImages().get(group), group).toBe(images.get(group));
    expect(instanceImages(group), group).toEqual([images.get(group)]);
  }
}

describe('rollback', () => {
  it('previous: after deploys of A and B every group runs A again, nothing launched or baked', async () => {
    const a = amisOf(await deploy(sha('a')));
    const b = amisOf(await deploy(sha('b')));
    expect(runningImages()).toEqual(b);
    fleet().sim.clearCalls();

    const run = await fleet().main(fleet().inputs({ command: 'rollback' }));
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(errors(run)).toEqual([]);
    expectRolledBackTo(run, a, Groups);
    expect(run.stdout).toContain(
      `shop-worker: ${b.get('shop-worker')} → ${a.get('shop-worker')} (the image it ran before`,
    );
    // shop-web follows $Default: the rollback version became the default and the group follows it again.
    expect(fleet().sim.state.groups.get('shop-web')?.LaunchTemplate?.Version).toBe('$Default');

    // A second `previous` undoes the rollback: back to B.
    fleet().sim.clearCalls();
    const forward = await fleet().main(fleet().inputs({ command: 'rollback' }));
    expect(forward.exitCode, transcript(forward)).toBe(0);
    expectRolledBackTo(forward, b, Groups);
  });

  it("rollback-to A's commit after a third deploy returns every group to A's image", async () => {
    const a = amisOf(await deploy(sha('a')));
    await deploy(sha('b'));
    await deploy(sha('c'));
    fleet().sim.clearCalls();
    const run = await fleet().main(
      fleet().inputs({ command: 'rollback', 'rollback-to': sha('a').slice(0, 12) }),
    );
    expect(run.exitCode, transcript(run)).toBe(0);
    expectRolledBackTo(run, a, Groups);
  });

  it('a group whose target cleanup deleted fails saying why; the others roll', async () => {
    const a = amisOf(await deploy(sha('a')));
    const b = amisOf(await deploy(sha('b')));
    // A's AMI is days old by the time a later cleanup runs (cleanup keeps anything younger).
    ageEverything(fleet().sim);
    const cleanup = await fleet().main(
      fleet().inputs({ command: 'cleanup', 'asg-tags': '', 'asg-names': 'shop-worker', 'cleanup-keep': '1' }),
    );
    expect(cleanup.exitCode, transcript(cleanup)).toBe(0);
    expect(fleet().sim.state.images.has(a.get('shop-worker') ?? '')).toBe(false);
    fleet().sim.clearCalls();

    const run = await fleet().main(fleet().inputs({ command: 'rollback' }));
    expect(run.exitCode).toBe(1);
    expect(errors(run).join('\n')).toMatch(
      new RegExp(`cannot roll back: its rollback target ${a.get('shop-worker')} is gone .*cleanup-keep`),
    );
    expectRolledBackTo(run, a, ['shop-api', 'shop-web']);
    expect(runningImages().get('shop-worker')).toBe(b.get('shop-worker'));
    expect(fleet().sim.calls.filter((c) => c.action === 'StartInstanceRefresh')).toHaveLength(2);
  });

  it('refuses a group whose version is not ours, before any change', async () => {
    // Nothing deployed yet: every group runs the fixture's own version 1.
    const run = await fleet().main(fleet().inputs({ command: 'rollback' }));
    expect(run.exitCode).toBe(1);
    const refused = errors(run).filter((e) => e.includes('cannot roll back: its launch template'));
    for (const group of Groups)
      expect(
        refused.some((e) => e.includes(group)),
        group,
      ).toBe(true);
    expect(refused.join('\n')).toContain(
      'was not made by asg-rolling (description ""): rollback only undoes',
    );
    expect(calls('CreateLaunchTemplateVersion')).toBe(0);
    expect(calls('StartInstanceRefresh')).toBe(0);
  });

  it('dry-run: prints the way back and checks it with DryRun, changing nothing; a refused check stops the real rollback', async () => {
    const a = amisOf(await deploy(sha('a')));
    const b = amisOf(await deploy(sha('b')));
    fleet().sim.clearCalls();

    const dry = await fleet().main(fleet().inputs({ command: 'rollback', 'dry-run': 'true' }));
    expect(dry.exitCode, transcript(dry)).toBe(0);
    expect(mutatingCalls(fleet().sim.calls)).toEqual([]);
    expect(runningImages()).toEqual(b);
    const plan = output<RunPlan>(dry, 'plan');
    expect(plan).toMatchObject({ command: 'rollback', dryRun: true, notDeployable: [] });
    expect(plan.groups.map((g) => g.group).sort()).toEqual([...Groups]);
    for (const group of Groups) {
      const image = plan.images.find((i) => i.groups.includes(group));
      expect(image?.how, group).toMatch(
        new RegExp(`^roll back to ${a.get(group)} \\(the image it ran before`),
      );
    }
    const versionChecks = plan.checks.filter((c) => c.action === 'ec2:CreateLaunchTemplateVersion');
    expect(versionChecks.length).toBeGreaterThan(0);
    expect(versionChecks.map((c) => c.outcome)).toEqual(versionChecks.map(() => 'allowed'));
    // shop-web follows $Default: its promotion is checked too.
    expect(plan.checks.filter((c) => c.action === 'ec2:ModifyLaunchTemplate').map((c) => c.outcome)).toEqual([
      'allowed',
    ]);
    const dryRunVersions = fleet().sim.calls.filter(
      (c) => c.action === 'CreateLaunchTemplateVersion' && c.params.DryRun === true,
    );
    expect(dryRunVersions.map((c) => JSON.stringify(c.params))).toEqual(
      versionChecks.map(() => expect.stringMatching(/"ImageId":"ami-/)),
    );

    fleet().sim.clearCalls();
    fleet().sim.deny(['ec2:CreateLaunchTemplateVersion']);
    const refused = await fleet().main(fleet().inputs({ command: 'rollback' }));
    expect(refused.exitCode).toBe(1);
    expect(errors(refused).join('\n')).toMatch(
      /Preflight: \d+ permission check\(s\) failed, nothing was launched or changed[\s\S]*ec2:CreateLaunchTemplateVersion on lt-/,
    );
    expect(mutatingCalls(fleet().sim.calls)).toEqual([]);
    expect(runningImages()).toEqual(b);
  });
});
