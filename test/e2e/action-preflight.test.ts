/**
 * `dry-run` and the permission preflight, end to end: a dry run of each command that rolls changes
 * nothing (every EC2 call the simulator saw is a Describe or carries DryRun, every Auto Scaling
 * call is a Describe), prints and outputs the plan, and names a permission the simulator denies;
 * a real run whose preflight is refused stops before RunInstances.
 */
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../sim/index.js';
import type { PermissionCheck, RunPlan } from '../../src/report/plan.js';
import {
  DeployScript,
  errors,
  mutatingCalls as mutating,
  output,
  temporaryInstances,
  threeGroups,
  transcript,
  useFleet,
} from '../helpers/fleet.js';

const fleet = useFleet({ seed: threeGroups });

const dryRunCalls = (action: string): CallRecord[] =>
  fleet().sim.calls.filter((call) => call.action === action && call.params.DryRun === true);

const deployInputs = (given: Record<string, string> = {}) =>
  fleet().inputs({ upload: 'build', 'deploy-script': DeployScript, ...given });

describe('dry-run', () => {
  it('deploy: prints the plan, checks permissions with DryRun and changes nothing', async () => {
    const run = await fleet().main(deployInputs({ 'dry-run': 'true' }));
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(mutating(fleet().sim.calls)).toEqual([]);
    const plan = output<RunPlan>(run, 'plan');
    expect(plan).toMatchObject({ command: 'deploy', dryRun: true });
    expect(plan.groups.map((g) => g.group).sort()).toEqual(['shop-api', 'shop-web', 'shop-worker']);
    expect(plan.images).toHaveLength(2);
    expect(plan.refreshPreferences).toMatchObject({ MinHealthyPercentage: 50, InstanceWarmup: 1 });
    const outcome = (action: string): string[] =>
      plan.checks.filter((c) => c.action === action).map((c) => c.outcome);
    // One launch per image, one version per template, one promotion for shop-web's $Default.
    expect(outcome('ec2:RunInstances')).toEqual(['allowed', 'allowed']);
    expect(outcome('ec2:CreateLaunchTemplateVersion')).toEqual(['allowed', 'allowed']);
    expect(outcome('ec2:ModifyLaunchTemplate')).toEqual(['allowed']);
    expect(outcome('ec2:CreateImage')).toEqual(['not checkable']);
    expect(outcome('autoscaling:StartInstanceRefresh')).toEqual(['not checkable']);
    // Made as the real launch would be: from the template version, tagged as ours.
    const launches = dryRunCalls('RunInstances');
    expect(launches).toHaveLength(2);
    expect(launches[0]?.params).toMatchObject({ LaunchTemplate: { Version: '1' }, MinCount: 1, MaxCount: 1 });
    expect(JSON.stringify(launches[0]?.params.TagSpecifications)).toContain('asg-rolling:managed');
    expect(run.stdout).toContain('Permission checks (EC2 DryRun):');
    expect(run.summary).toContain('Plan (dry run: nothing was created or changed)');
    expect(temporaryInstances(fleet().sim)).toEqual([]);
  });

  it('deploy: names the permission the DryRun answer says is missing, and fails', async () => {
    fleet().sim.deny(['ec2:RunInstances']);
    const run = await fleet().main(deployInputs({ 'dry-run': 'true' }));
    expect(run.exitCode).toBe(1);
    expect(mutating(fleet().sim.calls)).toEqual([]);
    const denied = output<RunPlan>(run, 'plan').checks.filter((c: PermissionCheck) => c.outcome === 'denied');
    expect(denied.map((c) => c.action)).toEqual(['ec2:RunInstances', 'ec2:RunInstances']);
    expect(denied[0]?.detail).toMatch(
      /^UnauthorizedOperation: .*not authorized to perform: ec2:RunInstances/,
    );
    expect(errors(run).join('\n')).toMatch(/Dry run: 2 permission check\(s\) failed[\s\S]*ec2:RunInstances/);
  });

  it('refresh: lists the Auto Scaling calls as not checkable and starts no refresh', async () => {
    const run = await fleet().main(fleet().inputs({ command: 'refresh', 'dry-run': 'true' }));
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(mutating(fleet().sim.calls)).toEqual([]);
    const plan = output<RunPlan>(run, 'plan');
    expect(plan.groups).toHaveLength(3);
    expect(plan.checks.map((c) => [c.action, c.outcome])).toContainEqual([
      'autoscaling:StartInstanceRefresh',
      'not checkable',
    ]);
  });
});

describe('preflight', () => {
  it('a refused check stops the real run before any launch', async () => {
    fleet().sim.deny(['ec2:CreateLaunchTemplateVersion']);
    const run = await fleet().main(deployInputs());
    expect(run.exitCode).toBe(1);
    expect(fleet().sim.calls.filter((c) => c.action === 'RunInstances' && c.params.DryRun !== true)).toEqual(
      [],
    );
    expect(mutating(fleet().sim.calls)).toEqual([]);
    expect(errors(run).join('\n')).toMatch(
      /Preflight: 2 permission check\(s\) failed, nothing was launched or changed[\s\S]*ec2:CreateLaunchTemplateVersion on lt-/,
    );
  });

  it('a passed preflight lets the run go on', async () => {
    const run = await fleet().main(deployInputs({ 'asg-names': 'shop-worker' }));
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(dryRunCalls('RunInstances')).toHaveLength(1);
    expect(
      fleet().sim.calls.filter((c) => c.action === 'RunInstances' && c.params.DryRun !== true),
    ).toHaveLength(1);
  });

  it('preflight: false skips the checks', async () => {
    fleet().sim.deny(['ec2:ModifyLaunchTemplate']);
    const run = await fleet().main(deployInputs({ 'asg-names': 'shop-worker', preflight: 'false' }));
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(fleet().sim.calls.filter((c) => c.params.DryRun === true)).toEqual([]);
  });
});
