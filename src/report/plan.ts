/**
 * What a run would do, as people read it (the log and the job summary) and as later steps read it
 * (the `plan` output): the groups, how each image is got (baked, reused, or an existing one rolled
 * back to), the launch template versions made, the refresh preferences, and the permission checks.
 * `dry-run` prints it and stops; a real run with `preflight` prints it and goes on.
 */
import type { RefreshPreferences } from '@aws-sdk/client-auto-scaling';
import { cell } from './summary.js';

/** allowed/denied/failed: EC2's answer to the DryRun request; not checkable: no DryRun exists for it. */
export type CheckOutcome = 'allowed' | 'denied' | 'failed' | 'not checkable';

export interface PermissionCheck {
  /** The IAM action, as a policy names it: `ec2:RunInstances`. */
  readonly action: string;
  /** What the call acts on, as the real call would: `lt-… version 3 in subnet-…`. */
  readonly target: string;
  readonly outcome: CheckOutcome;
  /** AWS's answer for denied and failed checks (it names the missing permission); why, otherwise. */
  readonly detail: string;
}

export interface PlanImage {
  readonly sourceImageId: string;
  readonly groups: readonly string[];
  /** How the run gets the image it rolls out: "bake from lt-… version 1 in subnet-…", "reuse ami-…". */
  readonly how: string;
}

export interface PlanGroup {
  readonly group: string;
  readonly launchTemplateId: string;
  readonly launchTemplateName: string;
  /** The version the group uses today, and how the group refers to it. */
  readonly version: number;
  readonly versionRef: string;
  readonly sourceImageId: string;
  /** The version the run would make: "new version of lt-… from version 1". */
  readonly newVersion: string;
}

export interface RunPlan {
  readonly command: string;
  readonly dryRun: boolean;
  readonly groups: readonly PlanGroup[];
  readonly images: readonly PlanImage[];
  /** Groups that would fail before anything is created, and why. */
  readonly notDeployable: readonly { readonly group: string; readonly error: string }[];
  /** The Instance Refresh preferences, as StartInstanceRefresh would receive them. */
  readonly refreshPreferences: RefreshPreferences;
  readonly checks: readonly PermissionCheck[];
}

/** Checks that would stop a real run: EC2 refused the DryRun request. */
export function refusedChecks(plan: Pick<RunPlan, 'checks'>): PermissionCheck[] {
  return plan.checks.filter((check) => check.outcome === 'denied' || check.outcome === 'failed');
}

/** The message a preflight failure stops the run with: every refused call and AWS's reason. */
export function preflightFailureMessage(refused: readonly PermissionCheck[], dryRun: boolean): string {
  const advice = dryRun
    ? 'the real run would stop here'
    : 'fix the role, or set "preflight: false" to skip the checks';
  return [
    `${dryRun ? 'Dry run' : 'Preflight'}: ${refused.length} permission check(s) failed, nothing was launched or changed (${advice}):`,
    ...refused.map((check) => `- ${check.action} on ${check.target}: ${check.detail}`),
  ].join('\n');
}

/** The plan's permission checks and preferences for the log, after the group table. */
export function planText(plan: RunPlan): string {
  const lines: string[] = [];
  for (const image of plan.images)
    lines.push(`${image.sourceImageId}: ${image.how} (${image.groups.join(', ')})`);
  for (const group of plan.groups) lines.push(`${group.group}: ${group.newVersion}`);
  lines.push(`Refresh preferences: ${JSON.stringify(plan.refreshPreferences)}`);
  if (plan.checks.length > 0) lines.push('Permission checks (EC2 DryRun):');
  for (const check of plan.checks) {
    const detail = check.detail ? `: ${check.detail}` : '';
    lines.push(`  ${check.outcome.padEnd(13)} ${check.action} on ${check.target}${detail}`);
  }
  return lines.join('\n');
}

/** The plan section of the job summary. */
export function planMarkdown(plan: RunPlan): string {
  const title = plan.dryRun ? '### Plan (dry run: nothing was created or changed)' : '### Plan';
  const lines = [
    title,
    '',
    '| Group | Source image | Launch template | Version | New version |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const g of plan.groups) {
    const template = g.launchTemplateName
      ? `${g.launchTemplateId} (${g.launchTemplateName})`
      : g.launchTemplateId;
    lines.push(
      `| ${cell(g.group)} | ${cell(g.sourceImageId)} | ${cell(template)} | ${g.version} (${cell(g.versionRef)}) | ${cell(g.newVersion)} |`,
    );
  }
  lines.push('');
  for (const image of plan.images) lines.push(`- ${cell(image.sourceImageId)}: ${cell(image.how)}`);
  for (const failure of plan.notDeployable)
    lines.push(`- not deployable: ${cell(failure.group)}: ${cell(failure.error)}`);
  lines.push(
    '',
    `Refresh preferences: \`${JSON.stringify(plan.refreshPreferences).replace(/`/g, "'")}\``,
    '',
  );
  if (plan.checks.length > 0) {
    lines.push('| Permission | Target | Result | Detail |', '| --- | --- | --- | --- |');
    for (const check of plan.checks)
      lines.push(
        `| ${cell(check.action)} | ${cell(check.target)} | ${check.outcome} | ${cell(check.detail)} |`,
      );
  }
  return `${lines.join('\n')}\n`;
}
