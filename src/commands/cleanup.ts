/**
 * `command: cleanup`, and the cleanup that ends `deploy` and `finalize`: run cleanup for the
 * selection, publish the `cleaned` output and the summary table, and warn about each failed item.
 */
import type { CleanupReport } from '../report/records.js';
import { cleanedOutput, cleanupSummaryMarkdown } from '../report/cleanup.js';
import { Outputs } from '../lib/constants.js';
import { errorMessage } from '../lib/errors.js';
import { selectedNames, type CommandContext } from './context.js';

/** Runs cleanup for the selection and records its outcome; throws only when the account cannot be read. */
export async function cleanupSelection(ctx: CommandContext): Promise<CleanupReport> {
  const { config } = ctx;
  const report = await ctx.deps.runCleanup(
    {
      selection: config.selection,
      keep: config.cleanup.keep,
      orphanAgeMinutes: config.cleanup.orphanAgeMinutes,
      dryRun: config.cleanup.dryRun,
      runId: config.run.runId,
    },
    ctx.rt,
  );
  ctx.deps.setOutput(Outputs.Cleaned, JSON.stringify(cleanedOutput(report)));
  ctx.sections.push(cleanupSummaryMarkdown(report));
  for (const failure of report.failures)
    ctx.rt.log.warning(`Cleanup: ${failure.kind} ${failure.id}: ${failure.error}`);
  return report;
}

/** The `cleanup` command: fails when any deletion failed, since retiring is all it is for. */
export async function cleanupCommand(ctx: CommandContext): Promise<void> {
  // Cleanup describes the groups itself; this only refuses a selection that matches nothing.
  await selectedNames(ctx);
  const report = await cleanupSelection(ctx);
  if (report.failures.length > 0) {
    throw new Error(
      `Cleanup could not delete ${report.failures.length} item(s): ` +
        report.failures.map((f) => `${f.kind} ${f.id}: ${f.error}`).join('; '),
    );
  }
}

/** After a roll: a failed cleanup is a warning, since the deploy itself is done. */
export async function cleanupAfterRoll(ctx: CommandContext): Promise<void> {
  try {
    await cleanupSelection(ctx);
  } catch (error) {
    ctx.rt.log.warning(`Cleanup after the roll failed (the deploy itself is done): ${errorMessage(error)}`);
  }
}
