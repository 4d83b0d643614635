/**
 * The `refresh` command: an Instance Refresh with the launch template the groups use today (a new
 * user-data script, an instance type change, or simply fresh instances), with the same handling of
 * running refreshes, waiting and reporting as a deploy.
 */
import { runAll, type Limiter } from '../lib/parallel.js';
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
