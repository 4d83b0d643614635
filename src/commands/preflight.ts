/**
 * The step between a command's plan and its first change: with `dry-run`, check permissions, print
 * the plan, write the `plan` output and the summary section, and stop; with `preflight` (the
 * default), check the same and stop before any launch when EC2 refuses a call. Deploy, setup,
 * finalize, refresh and rollback all come through here with their own targets and plan.
 */
import * as core from '@actions/core';
import { Outputs } from '../lib/constants.js';
import { checkPermissions, type PreflightTargets } from '../phases/preflight.js';
import {
  planMarkdown,
  planText,
  preflightFailureMessage,
  refusedChecks,
  type PermissionCheck,
  type RunPlan,
} from '../report/plan.js';
import type { CommandContext } from './context.js';

/** A real run stopped by its preflight: nothing was launched or changed. */
export class PreflightError extends Error {
  override name = 'PreflightError';
}

export interface PreflightStep {
  readonly targets: PreflightTargets;
  /** The command's plan, given the checks made. */
  readonly describe: (checks: readonly PermissionCheck[]) => RunPlan;
}

/**
 * Returns true when the command must stop here (a dry run), false to go on; throws PreflightError
 * when EC2 refused a check, dry run or not.
 */
export async function dryRunOrPreflight(ctx: CommandContext, step: PreflightStep): Promise<boolean> {
  const { config, rt, deps } = ctx;
  if (!config.dryRun && !config.preflight) return false;
  const checks = await checkPermissions(step.targets, { config, rt, actionVersion: ctx.actionVersion });
  const plan = step.describe(checks);
  core.startGroup(config.dryRun ? 'Dry run: plan and permission checks' : 'Preflight: permission checks');
  rt.log.info(planText(plan));
  core.endGroup();
  deps.setOutput(Outputs.Plan, JSON.stringify(plan));
  if (config.dryRun) ctx.sections.push(planMarkdown(plan));
  // A dry run fails on a refusal too: a green dry run must mean the real run may go ahead.
  const refused = refusedChecks(plan);
  if (refused.length > 0) throw new PreflightError(preflightFailureMessage(refused, config.dryRun));
  return config.dryRun;
}
