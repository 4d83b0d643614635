/**
 * Carries out a cleanup plan. Order is what keeps it safe when some deletions fail: versions first,
 * then only the AMIs whose every referencing version is really gone, then only the snapshots whose
 * every image is really gone, then leftover volumes. Right before each step what uses its items is
 * read again (recheck.ts), and anything newly in use stays. Each failure is reported and the rest
 * continues.
 */
import pLimit from 'p-limit';
import { chunk } from '../aws/batch.js';
import { deleteSnapshot, deregisterImage } from '../aws/images.js';
import { terminateEach } from '../aws/instances.js';
import { deleteTemplateVersions } from '../aws/launch-templates.js';
import { deleteVolume } from '../aws/volumes.js';
import { awsErrorCode, errorMessage } from '../lib/errors.js';
import type { Runtime } from '../aws/clients.js';
import type { CleanupPlan, VersionDeletion } from './plan-types.js';
import type { InUse, Recheck } from './recheck.js';
import type { CleanedItem, CleanupFailure, CleanupReport, KeptItem } from '../report/records.js';

/** DeleteLaunchTemplateVersions accepts at most this many versions per call. */
export const VersionsPerCall = 200;
/** Deregistrations and snapshot deletions in flight at once: one call each, well under EC2's rate. */
const DeleteConcurrency = 4;

/** Error codes meaning the resource is already gone: what we wanted, not a failure. */
const GoneCodes = new Set([
  'InvalidAMIID.NotFound',
  'InvalidAMIID.Unavailable',
  'InvalidSnapshot.NotFound',
  'InvalidVolume.NotFound',
  'launchTemplateVersionDoesNotExist',
]);

/** Said of an item a read right before its deletion found in use. */
const FoundAgain = 'found in use when read again right before deleting';

type Clients = Pick<Runtime, 'ec2' | 'log' | 'signal'>;

/** Performs the plan (or, with dryRun, only reports it) and returns what was deleted, kept and failed. */
export async function applyCleanup(
  plan: CleanupPlan,
  options: { dryRun: boolean; recheck: Recheck },
  rt: Clients,
): Promise<CleanupReport> {
  const report: CleanupReport = { deleted: [], kept: [...plan.kept], failures: [] };
  if (options.dryRun) {
    const items: CleanedItem[] = [
      ...plan.versions.map((v) => item('launch-template-version', v.id, v.reason, true)),
      ...plan.instances.map((i) => item('instance', i.id, i.reason, true)),
      ...plan.images.map((i) => item('ami', i.id, i.reason, true)),
      ...plan.snapshots.map((s) => item('snapshot', s.id, s.reason, true)),
      ...plan.volumes.map((v) => item('volume', v.id, v.reason, true)),
    ];
    for (const cleaned of items) rt.log.info(`Would delete ${cleaned.kind} ${cleaned.id}: ${cleaned.reason}`);
    report.deleted.push(...items);
    return report;
  }
  const run = new Run(report, rt, options.recheck);

  const gone = new Set<string>();
  if (run.proceed()) for (const id of await run.deleteVersions(plan.versions)) gone.add(id);
  if (run.proceed()) await run.terminate(plan.instances);

  const deregistered = new Set<string>();
  if (run.proceed()) {
    const possible = plan.images.filter((image) => {
      const left = image.requires.filter((id) => !gone.has(id));
      if (left.length === 0) return true;
      run.keep({
        kind: 'ami',
        id: image.id,
        reason: `still used by ${left.join(', ')}, which could not be deleted`,
      });
      return false;
    });
    const versionImages = new Map(
      plan.versions.flatMap((v) => (gone.has(v.id) && v.imageId ? [[v.id, v.imageId] as const] : [])),
    );
    const ready = await run.stillUnused('ami', possible, (ids) =>
      options.recheck.imagesInUse(ids, versionImages),
    );
    await run.each(ready, 'ami', (id, abortSignal) => deregisterImage(rt.ec2, id, abortSignal), deregistered);
  }
  if (run.proceed()) {
    const possible = plan.snapshots.filter((snapshot) =>
      snapshot.requires.every((id) => deregistered.has(id)),
    );
    for (const skipped of plan.snapshots.filter((s) => !possible.includes(s))) {
      rt.log.info(`Keeping snapshot ${skipped.id}: its image is still registered`);
    }
    const ready = await run.stillUnused('snapshot', possible, (ids) =>
      options.recheck.snapshotsInUse(ids, deregistered),
    );
    await run.each(
      ready,
      'snapshot',
      (id, abortSignal) => deleteSnapshot(rt.ec2, id, abortSignal),
      new Set(),
    );
  }
  if (run.proceed())
    await run.each(
      plan.volumes,
      'volume',
      (id, abortSignal) => deleteVolume(rt.ec2, id, abortSignal),
      new Set(),
    );
  return report;
}

function item(kind: CleanedItem['kind'], id: string, reason: string, dryRun: boolean): CleanedItem {
  return { kind, id, reason, dryRun };
}

/** One real (not dry) cleanup run: records every outcome in the report as it happens. */
class Run {
  constructor(
    private readonly report: CleanupReport,
    private readonly rt: Clients,
    private readonly recheck: Recheck,
  ) {}

  /** False once the run is cancelled: nothing new starts, what is done stays reported. */
  proceed(): boolean {
    if (!this.rt.signal.aborted) return true;
    this.rt.log.warning('Cleanup stopped early: the run was cancelled.');
    return false;
  }

  keep(kept: KeptItem): void {
    this.rt.log.info(`Keeping ${kept.kind} ${kept.id}: ${kept.reason}`);
    this.report.kept.push(kept);
  }

  deleted(kind: CleanedItem['kind'], id: string, reason: string): void {
    this.rt.log.info(`Deleted ${kind} ${id}: ${reason}`);
    this.report.deleted.push(item(kind, id, reason, false));
  }

  fail(kind: string, id: string, error: string): void {
    this.rt.log.warning(`Could not delete ${kind} ${id}: ${error}`);
    this.report.failures.push({ kind, id, error } satisfies CleanupFailure);
  }

  /**
   * The items `read` does not find in use now; the others are kept, said why. When the read fails,
   * none goes: each is reported as a failure, since deleting blind is what the read is there to stop.
   */
  async stillUnused<T extends { id: string }>(
    kind: KeptItem['kind'],
    items: readonly T[],
    read: (ids: string[]) => Promise<InUse>,
  ): Promise<T[]> {
    if (items.length === 0) return [];
    let inUse: InUse;
    try {
      inUse = await read(items.map((i) => i.id));
    } catch (error) {
      for (const entry of items) this.fail(kind, entry.id, `not deleted: ${errorMessage(error)}`);
      return [];
    }
    return items.filter((entry) => {
      const why = inUse.get(entry.id);
      if (why) this.keep({ kind, id: entry.id, reason: `${why} (${FoundAgain})` });
      return !why;
    });
  }

  /**
   * Deletes versions per template, at most 200 a call, each call right after reading again which
   * versions are in use; returns the ids that are gone.
   */
  async deleteVersions(versions: readonly VersionDeletion[]): Promise<string[]> {
    const gone: string[] = [];
    const byTemplate = new Map<string, VersionDeletion[]>();
    for (const v of versions) byTemplate.set(v.templateId, [...(byTemplate.get(v.templateId) ?? []), v]);
    for (const [templateId, all] of byTemplate) {
      if (!this.proceed()) break;
      const list = await this.stillUnused('launch-template-version', all, () => this.recheck.versionsInUse());
      for (const batch of chunk(list, VersionsPerCall)) {
        const byNumber = new Map(batch.map((v) => [v.version, v]));
        try {
          const out = await deleteTemplateVersions(this.rt.ec2, {
            templateId,
            versions: batch.map((v) => v.version),
            signal: this.rt.signal,
          });
          for (const ok of out.SuccessfullyDeletedLaunchTemplateVersions ?? []) {
            const v = byNumber.get(ok.VersionNumber ?? -1);
            if (!v) continue;
            this.deleted('launch-template-version', v.id, v.reason);
            gone.push(v.id);
          }
          for (const bad of out.UnsuccessfullyDeletedLaunchTemplateVersions ?? []) {
            const v = byNumber.get(bad.VersionNumber ?? -1);
            if (!v) continue;
            const code = bad.ResponseError?.Code ?? 'unexpectedError';
            if (GoneCodes.has(code)) gone.push(v.id);
            else
              this.fail(
                'launch-template-version',
                v.id,
                `${code}: ${bad.ResponseError?.Message ?? ''}`.trim(),
              );
          }
        } catch (error) {
          for (const v of batch) this.fail('launch-template-version', v.id, errorMessage(error));
        }
      }
    }
    return gone;
  }

  /** Terminates orphans in as few calls as AWS allows; each id is reported on its own. */
  async terminate(instances: readonly { id: string; reason: string }[]): Promise<void> {
    const reasons = new Map(instances.map((i) => [i.id, i.reason]));
    const outcomes = await terminateEach(this.rt.ec2, [...reasons.keys()], { signal: this.rt.signal });
    for (const result of outcomes) {
      if (result.outcome === 'failed') this.fail('instance', result.id, result.error);
      else if (result.outcome === 'gone') this.rt.log.debug(`instance ${result.id} was already gone`);
      else this.deleted('instance', result.id, reasons.get(result.id) ?? '');
    }
  }

  /** One call per item, a few at once; successes go into `done`. */
  async each(
    items: readonly { id: string; reason: string }[],
    kind: CleanedItem['kind'],
    call: (id: string, abortSignal: AbortSignal) => Promise<unknown>,
    done: Set<string>,
  ): Promise<void> {
    const limit = pLimit(DeleteConcurrency);
    await Promise.all(
      items.map((entry) =>
        limit(async () => {
          if (this.rt.signal.aborted) return;
          try {
            await call(entry.id, this.rt.signal);
            this.deleted(kind, entry.id, entry.reason);
            done.add(entry.id);
          } catch (error) {
            if (this.failOrGone(kind, entry.id, error)) done.add(entry.id);
          }
        }),
      ),
    );
  }

  /** Records a failure unless the error says the resource is already gone; true when gone. */
  private failOrGone(kind: CleanedItem['kind'], id: string, error: unknown): boolean {
    const code = awsErrorCode(error);
    if (code && GoneCodes.has(code)) {
      this.rt.log.debug(`${kind} ${id} was already gone`);
      return true;
    }
    if (kind === 'volume' && code === 'VolumeInUse') {
      this.keep({ kind, id, reason: 'attached to an instance again' });
      return false;
    }
    this.fail(kind, id, errorMessage(error));
    return false;
  }
}
