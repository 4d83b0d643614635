/**
 * Rolls a group onto a new launch template version with an Instance Refresh. The group itself is
 * never updated first: the new numeric version goes in the refresh's DesiredConfiguration, so a
 * failed refresh can roll back to exactly what the group had. On success AWS saves the desired
 * configuration on the group, so a group that followed `$Latest` or `$Default` would be left naming
 * our version by number; versions.ts sets its own reference back once that is safe.
 */
import type { DesiredConfiguration, InstanceRefresh, RefreshPreferences } from '@aws-sdk/client-auto-scaling';
import { withTemplateSpec } from '../aws/group-update.js';
import {
  cancelInstanceRefresh,
  findActiveRefresh,
  refreshKey,
  startInstanceRefresh,
} from '../aws/refreshes.js';
import type { RollConfig } from '../config/index.js';
import { TerminalRefreshStatuses } from '../aws/refreshes.js';
import { awsErrorCode, wrapError } from '../lib/errors.js';
import type { PlannedGroup } from './plan.js';
import type { Logger } from '../lib/runtime.js';
import type { PipelineContext } from './context.js';
import type { RefreshRecord } from '../report/records.js';

/** Thrown when a refresh ends in anything but Successful; carries the record for the report. */
export class RefreshFailedError extends Error {
  override name = 'RefreshFailedError';
  constructor(
    message: string,
    readonly record: RefreshRecord,
  ) {
    super(message);
  }
}

/** RefreshPreferences from the roll settings, leaving out what the user left unset (AWS defaults). */
export function refreshPreferences(
  roll: RollConfig,
  options: { readonly autoRollback: boolean },
): RefreshPreferences {
  return {
    MinHealthyPercentage: roll.minHealthyPercentage,
    MaxHealthyPercentage: roll.maxHealthyPercentage,
    ...(roll.instanceWarmup !== undefined ? { InstanceWarmup: roll.instanceWarmup } : {}),
    SkipMatching: roll.skipMatching,
    ...(roll.checkpointPercentages.length > 0
      ? { CheckpointPercentages: [...roll.checkpointPercentages] }
      : {}),
    ...(roll.checkpointDelay !== undefined ? { CheckpointDelay: roll.checkpointDelay } : {}),
    AutoRollback: options.autoRollback,
    ...(roll.alarms.length > 0 ? { AlarmSpecification: { Alarms: [...roll.alarms] } } : {}),
    ...(roll.bakeTime !== undefined ? { BakeTime: roll.bakeTime } : {}),
    ScaleInProtectedInstances: roll.scaleInProtectedInstances,
    StandbyInstances: roll.standbyInstances,
  };
}

/**
 * The configuration the refresh moves the group to: the new numeric version, and for a
 * MixedInstancesPolicy group the whole policy with only its template spec replaced.
 */
export function desiredConfiguration(group: PlannedGroup, newVersion: number): DesiredConfiguration {
  return withTemplateSpec(
    { MixedInstancesPolicy: group.mixedInstancesPolicy },
    { LaunchTemplateId: group.launchTemplateId, Version: String(newVersion) },
  );
}

/**
 * AWS refuses auto rollback when the group follows `$Latest`/`$Default` (nothing numeric to return to),
 * when the version it would return to names its image by a Systems Manager parameter, or when the
 * refresh has no desired configuration; we turn it off there instead of failing the group.
 */
export function canAutoRollback(group: Pick<PlannedGroup, 'versionRef' | 'imageAlias'> | undefined): boolean {
  return group !== undefined && group.versionRef === 'number' && group.imageAlias === undefined;
}

export interface StartOptions {
  readonly group: string;
  readonly desired: DesiredConfiguration | undefined;
  readonly preferences: RefreshPreferences;
}

/** Starts a refresh, handling one already running as `on-refresh-in-progress` says. */
export async function startRefresh(
  options: StartOptions,
  ctx: PipelineContext,
  log: Logger,
): Promise<string> {
  const mode = ctx.config.roll.onRefreshInProgress;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startInstanceRefresh(ctx.rt.autoScaling, options);
    } catch (error) {
      if (awsErrorCode(error) !== 'InstanceRefreshInProgress')
        throw wrapError('Could not start the Instance Refresh', error);
      if (mode === 'fail' || attempt > 3) {
        throw new Error(
          `an Instance Refresh is already in progress on ${options.group} (on-refresh-in-progress: ${mode})`,
          { cause: error },
        );
      }
      await settleRunningRefresh({ group: options.group, mode }, ctx, log);
    }
  }
}

async function settleRunningRefresh(
  options: { readonly group: string; readonly mode: 'wait' | 'cancel' },
  ctx: PipelineContext,
  log: Logger,
): Promise<void> {
  const { group, mode } = options;
  let id: string | undefined;
  if (mode === 'cancel') {
    try {
      id = await cancelInstanceRefresh(ctx.rt.autoScaling, group);
      log.warning(`Cancelling the running Instance Refresh ${id ?? ''} (on-refresh-in-progress: cancel)`);
    } catch (error) {
      if (awsErrorCode(error) !== 'ActiveInstanceRefreshNotFound')
        throw wrapError('Could not cancel the running Instance Refresh', error);
      return; // it ended meanwhile
    }
  } else {
    id = (await findActiveRefresh(ctx.rt.autoScaling, group))?.InstanceRefreshId;
    if (id) log.info(`Waiting for the running Instance Refresh ${id} to end (on-refresh-in-progress: wait)`);
  }
  if (!id) return;
  await ctx.pollers.refreshes.waitFor(refreshKey(group, id), {
    test: (r) => (r && TerminalRefreshStatuses.has(r.Status ?? '') ? 'done' : 'pending'),
    timeoutMs: ctx.config.roll.timeoutSeconds * 1000,
    what: `the running Instance Refresh ${id} of ${group} to end`,
    signal: ctx.rt.signal,
  });
}

/** Polls a refresh to its final status, logging each change of status or progress. */
export async function waitForRefresh(
  options: { readonly group: string; readonly refreshId: string },
  ctx: PipelineContext,
  log: Logger,
): Promise<InstanceRefresh> {
  let last = '';
  return ctx.pollers.refreshes.waitFor(refreshKey(options.group, options.refreshId), {
    test: (r) => {
      if (!r) return 'pending';
      const line =
        `Instance Refresh ${options.refreshId}: ${r.Status ?? '?'} ${r.PercentageComplete ?? 0}%` +
        (r.InstancesToUpdate !== undefined ? `, ${r.InstancesToUpdate} instance(s) to update` : '');
      if (line !== last) log.info(line);
      last = line;
      return TerminalRefreshStatuses.has(r.Status ?? '') ? 'done' : 'pending';
    },
    timeoutMs: ctx.config.roll.timeoutSeconds * 1000,
    what: `Instance Refresh ${options.refreshId} (it goes on in AWS)`,
    signal: ctx.rt.signal,
  });
}

/** Turns a final status into a record, throwing unless it is Successful (RollbackSuccessful is a failure). */
export function judgeRefresh(group: string, refresh: InstanceRefresh, seconds: number): RefreshRecord {
  const record: RefreshRecord = {
    group,
    instanceRefreshId: refresh.InstanceRefreshId ?? '',
    status: refresh.Status ?? 'Unknown',
    statusReason: refresh.StatusReason ?? '',
    seconds,
  };
  if (record.status === 'Successful') return record;
  const reason = record.statusReason ? `: ${record.statusReason}` : '';
  const ended = `Instance Refresh ${record.instanceRefreshId} ended ${record.status}`;
  // A rollback leads with what it means for the group; the status and id let people find it in AWS.
  const message =
    record.status === 'RollbackSuccessful' ? `rolled back${reason} (${ended})` : `${ended}${reason}`;
  throw new RefreshFailedError(message, record);
}

/** Starts and (with wait-for-refresh) follows one refresh; resolves only on success. */
export async function runRefresh(
  options: StartOptions,
  ctx: PipelineContext,
  log: Logger,
): Promise<RefreshRecord> {
  const started = ctx.rt.clock.now();
  const refreshId = await startRefresh(options, ctx, log);
  log.info(`Started Instance Refresh ${refreshId}`);
  if (!ctx.config.roll.waitForRefresh) {
    return {
      group: options.group,
      instanceRefreshId: refreshId,
      status: 'Pending',
      statusReason: '',
      seconds: 0,
    };
  }
  const final = await waitForRefresh({ group: options.group, refreshId }, ctx, log);
  return judgeRefresh(options.group, final, Math.round((ctx.rt.clock.now() - started) / 1000));
}

/**
 * Rolls one group onto `newVersion` of its template. A `$Latest` or `$Default` group gets its
 * reference back only once every roll of its version ended (versions.ts), since the reference must
 * resolve to what was rolled out.
 */
export async function rollGroup(
  options: { readonly group: PlannedGroup; readonly newVersion: number },
  ctx: PipelineContext,
  log: Logger,
): Promise<RefreshRecord> {
  const { group, newVersion } = options;
  const autoRollback = ctx.config.roll.autoRollback && canAutoRollback(group);
  if (ctx.config.roll.autoRollback && !autoRollback) {
    log.warning(
      group.imageAlias
        ? `auto-rollback is off for this refresh: AWS cannot roll back to a version whose image is ${group.imageAlias}`
        : `auto-rollback is off for this refresh: AWS cannot roll back a group that follows ${group.versionRef}`,
    );
  }
  const record = await runRefresh(
    {
      group: group.name,
      desired: desiredConfiguration(group, newVersion),
      preferences: refreshPreferences(ctx.config.roll, { autoRollback }),
    },
    ctx,
    log,
  );
  if (group.versionRef !== 'number' && !ctx.config.roll.waitForRefresh) {
    log.warning(
      `once the refresh succeeds, AWS saves ${group.launchTemplateId} version ${newVersion} on the group by number ` +
        `(wait-for-refresh is false, so it is not set back to ${group.versionRef}); set it back to ${group.versionRef} afterwards`,
    );
  }
  return record;
}
