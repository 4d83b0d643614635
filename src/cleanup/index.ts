/**
 * Cleanup (the `cleanup` command, and the end of `deploy` and `finalize`): read the account, decide
 * with the pure policy, then delete. Old AMIs and snapshots cost money every month; a wrongly
 * deleted AMI breaks scaling and rollback, so everything in use is kept and said to be.
 */
import type { Runtime } from '../aws/clients.js';
import { applyCleanup } from './apply.js';
import { readInventory } from './inventory.js';
import { planCleanup } from './policy.js';
import { recheckWith } from './recheck.js';
import type { CleanupOptions } from './types.js';
import type { CleanupReport } from '../report/records.js';

/**
 * Retires what the selected groups' launch templates no longer need: our old versions, our old AMIs
 * and their snapshots, snapshots of ours whose AMI is gone, and orphaned temporary instances of
 * other runs. With `dryRun` it changes
 * nothing and reports what would go. Throws only when the account cannot be read; failures of single
 * deletions are in the report.
 */
export async function runCleanup(options: CleanupOptions, rt: Runtime): Promise<CleanupReport> {
  const inventory = await readInventory({ selection: options.selection }, rt);
  rt.log.debug(
    `Cleanup inventory: ${inventory.scopedTemplateIds.length} launch template(s) in scope, ` +
      `${inventory.versions.length} version(s), ${inventory.images.length} of our AMI(s), ` +
      `${inventory.temporaryInstances.length} temporary instance(s), ` +
      `${inventory.snapshots.length} snapshot(s) of ours no AMI of ours lists, ` +
      `${inventory.volumes.length} available volume(s) of ours`,
  );
  const plan = planCleanup(inventory, {
    keep: options.keep,
    orphanAgeMinutes: options.orphanAgeMinutes,
    runId: options.runId,
    now: rt.clock.now(),
  });
  for (const kept of plan.kept) rt.log.info(`Keeping ${kept.kind} ${kept.id}: ${kept.reason}`);
  const report = await applyCleanup(plan, { dryRun: options.dryRun, recheck: recheckWith(rt) }, rt);
  const verb = options.dryRun ? 'would delete' : 'deleted';
  rt.log.info(
    `Cleanup ${verb} ${report.deleted.length} item(s), kept ${report.kept.length}, ${report.failures.length} failure(s).`,
  );
  return report;
}
