/**
 * The `refresh` command: an Instance Refresh with the launch template the groups use today (a new
 * user-data script, an instance type change, or simply fresh instances), with the same handling of
 * running refreshes, waiting and reporting as a deploy.
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { findSelectedGroups } from '../aws/groups.js';
import { createLimiter, runAll, type Limiter } from '../lib/parallel.js';
import { templateRefOf } from '../phases/plan.js';
import type { PermissionCheck, RunPlan } from '../report/plan.js';
import { pipelineContext, type CommandContext } from './context.js';
import { dryRunOrPreflight } from './preflight.js';
import { errorMessage } from '../lib/errors.js';
import type { RunReport } from '../report/summary.js';
import type { PipelineContext } from '../phases/context.js';
import { RefreshFailedError, refreshPreferences, runRefresh } from '../phases/roll.js';

/**
 * Refreshes every group, at most `limiter` at once; outcomes and failures go to `report`. Without a
 * desired configuration AWS cannot roll back, so auto-rollback is off for these refreshes.
 */
export async function refreshGroups(
  groups: readonly string[],
  options: { readonly ctx: PipelineContext; readonly report: RunReport; readonly limiter: Limiter },
): Promise<void> {
  const { ctx, report } = options;
  if (ctx.config.roll.autoRollback) {
    ctx.rt.log.info(
      'auto-rollback does not apply: a refresh without a new launch template version cannot roll back',
    );
  }
  const preferences = refreshPreferences(ctx.config.roll, { autoRollback: false });
  const { failures } = await runAll(groups, {
    limit: options.limiter,
    key: (group) => group,
    task: async (group) => {
      const log = ctx.rt.log.child(group);
      report.row(group);
      const record = await ctx.timeline.record(group, 'roll', () =>
        runRefresh({ group, desired: undefined, preferences }, ctx, log),
      );
      report.addRefresh(record);
    },
  });
  for (const failure of failures) {
    if (failure.error instanceof RefreshFailedError) report.addRefresh(failure.error.record);
    report.fail(failure.key, errorMessage(failure.error));
  }
}

/** The `refresh` command: the selected groups, the dry run or preflight, then the refreshes. */
export async function refreshCommand(ctx: CommandContext): Promise<void> {
  const { config } = ctx;
  const groups = await findSelectedGroups(config.selection, ctx.rt);
  const names = groups.map((g) => g.AutoScalingGroupName ?? '');
  const actions = ['autoscaling:StartInstanceRefresh', 'autoscaling:DescribeInstanceRefreshes'];
  if (config.roll.onRefreshInProgress === 'cancel') actions.push('autoscaling:CancelInstanceRefresh');
  const stop = await dryRunOrPreflight(ctx, {
    targets: {
      launches: [],
      versions: [],
      defaults: [],
      instances: [],
      afterLaunch: [],
      autoScaling: actions,
    },
    describe: (checks) => refreshPlan(groups, ctx, checks),
  });
  if (stop) return;
  await refreshGroups(names, {
    ctx: pipelineContext(ctx),
    report: ctx.report,
    limiter: createLimiter(config.maxParallel),
  });
}

function refreshPlan(
  groups: readonly AutoScalingGroup[],
  ctx: CommandContext,
  checks: readonly PermissionCheck[],
): RunPlan {
  return {
    command: ctx.config.command,
    dryRun: ctx.config.dryRun,
    groups: groups.map((group) => {
      const ref = templateRefOf(group);
      const template = 'error' in ref ? undefined : ref;
      return {
        group: group.AutoScalingGroupName ?? '',
        launchTemplateId: template?.launchTemplateId ?? '',
        launchTemplateName: template?.launchTemplateName ?? '',
        version: Number(template?.version) || 0,
        versionRef: template?.version ?? '',
        sourceImageId: '',
        newVersion: 'none: refreshed with the launch template it uses today',
      };
    }),
    images: [],
    notDeployable: [],
    refreshPreferences: refreshPreferences(ctx.config.roll, { autoRollback: false }),
    checks,
  };
}
