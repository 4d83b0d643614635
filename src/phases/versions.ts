/**
 * The launch template versions of a deploy. Create them once the AMI exists; after the rolls,
 * promote defaults, then restore references, then revert `$Latest` on failure:
 * - a version becomes its template's default only when every group following `$Default` on it rolled;
 * - a `$Default`/`$Latest` group follows its reference again only while that resolves to what it
 *   rolled out (AWS saved our version on it by number);
 * - creating a version moves `$Latest` at once, so when a `$Latest` group's roll fails while our
 *   version is still the latest, a copy of the old version makes `$Latest` launch the old image again.
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import {
  describeGroups,
  groupTemplateSpec,
  setGroupTemplateReference,
  templateVersionNumbers,
  type TemplateVersionNumbers,
} from '../aws/group-update.js';
import { createTemplateVersion, setDefaultVersion } from '../aws/launch-templates.js';
import { revertVersionDescription, versionDescription } from '../aws/tags.js';
import { errorMessage } from '../lib/errors.js';
import type { Limiter } from '../lib/parallel.js';
import type { PlannedGroup, PlannedImage } from './plan.js';
import type { RunReport } from '../report/summary.js';
import type { Logger } from '../lib/runtime.js';
import type { PipelineContext } from './context.js';

/** The new version of each key, or why it could not be made. */
export type NewVersions = ReadonlyMap<string, number | Error>;

/** The key of one new launch template version: groups on the same template and version share it. */
export function versionKey(group: PlannedGroup): string {
  return `${group.launchTemplateId}:${group.version}`;
}

/** The groups by versionKey, in plan order. */
function byKey(groups: readonly PlannedGroup[]): Map<string, PlannedGroup[]> {
  const keyed = new Map<string, PlannedGroup[]>();
  for (const group of groups) keyed.set(versionKey(group), [...(keyed.get(versionKey(group)) ?? []), group]);
  return keyed;
}

/** One new version per template and source version, however many groups use it. */
export async function createVersions(options: {
  readonly image: PlannedImage;
  /** The new AMI. */
  readonly imageId: string;
  readonly ctx: PipelineContext;
  readonly report: RunReport;
  readonly log: Logger;
  /** The VersionDescription; a deploy's (run and commit) unless given. */
  readonly description?: string;
}): Promise<Map<string, number | Error>> {
  const { ctx, log, imageId } = options;
  const versions = new Map<string, number | Error>();
  const commit = ctx.config.run.commit.slice(0, 7) || 'local';
  for (const [key, groups] of byKey(options.image.groups)) {
    const first = groups[0] as PlannedGroup;
    try {
      const version = await createTemplateVersion(ctx.rt.ec2, {
        launchTemplateId: first.launchTemplateId,
        sourceVersion: first.version,
        imageId,
        description: options.description ?? versionDescription(ctx.config.run.runId, commit),
      });
      log.info(
        `Created ${first.launchTemplateId} version ${version} (from version ${first.version}) with ${imageId}`,
      );
      versions.set(key, version);
      options.report.versions.push({
        launchTemplateId: first.launchTemplateId,
        version,
        imageId,
        groups: groups.map((g) => g.name),
      });
    } catch (error) {
      log.error(errorMessage(error));
      versions.set(key, error instanceof Error ? error : new Error(errorMessage(error)));
    }
  }
  return versions;
}

export interface FinishOptions {
  readonly image: PlannedImage;
  readonly versions: NewVersions;
  /** Per group: true once its roll succeeded (or started, without wait-for-refresh), false if it failed. */
  readonly rolled: ReadonlyMap<string, boolean>;
  readonly ctx: PipelineContext;
  readonly report: RunReport;
  readonly limiter: Limiter;
  readonly log: Logger;
}

/** A group to point at its own reference again, and the version its refresh rolled out. */
interface Restore {
  readonly group: PlannedGroup;
  readonly newVersion: number;
}

/** After every roll of the image ended: promote defaults, then restore references, then revert `$Latest`. */
export async function finishVersions(options: FinishOptions): Promise<void> {
  const restores = [...(await promoteDefaults(options)), ...latestRestores(options)];
  await restoreReferences({ restores, ctx: options.ctx });
  await revertLatest(options);
}

/** The followers of one reference, per key that got a new version. */
function followers(
  options: FinishOptions,
  ref: '$Default' | '$Latest',
): { groups: PlannedGroup[]; version: number; failed: string[] }[] {
  const found: { groups: PlannedGroup[]; version: number; failed: string[] }[] = [];
  for (const [key, groups] of byKey(options.image.groups.filter((g) => g.versionRef === ref))) {
    const version = options.versions.get(key);
    if (typeof version !== 'number') continue;
    const failed = groups.filter((g) => options.rolled.get(g.name) !== true).map((g) => g.name);
    found.push({ groups, version, failed });
  }
  return found;
}

/**
 * Makes each new version the default of its template once every group that follows `$Default` on
 * it rolled successfully; with one failure the old default stays, so scale-outs keep the proven
 * image. Returns the groups that may follow `$Default` again.
 */
async function promoteDefaults(options: FinishOptions): Promise<Restore[]> {
  const { ctx, log } = options;
  const restores: Restore[] = [];
  for (const { groups, version, failed } of followers(options, '$Default')) {
    const templateId = (groups[0] as PlannedGroup).launchTemplateId;
    if (failed.length > 0) {
      log.warning(
        `${templateId} keeps its default version: ${failed.join(', ')} did not roll out version ${version}`,
      );
      keepNumber({ groups, failed, version, ref: '$Default', ctx });
      continue;
    }
    if (!ctx.config.roll.waitForRefresh) {
      log.warning(
        `${templateId} keeps its default version: with wait-for-refresh false the refresh outcome is unknown; ` +
          `make version ${version} the default once it succeeded`,
      );
      continue;
    }
    try {
      await options.limiter(() => setDefaultVersion(ctx.rt.ec2, templateId, version), {
        priority: 'finish',
      });
      log.info(`${templateId} default version is now ${version}`);
      restores.push(...groups.map((group) => ({ group, newVersion: version })));
    } catch (error) {
      for (const group of groups)
        options.report.fail(group.name, `refresh succeeded, but ${errorMessage(error)}`);
    }
  }
  return restores;
}

/** `$Latest` groups may follow `$Latest` again when every `$Latest` group of their version rolled. */
function latestRestores(options: FinishOptions): Restore[] {
  if (!options.ctx.config.roll.waitForRefresh) return [];
  const restores: Restore[] = [];
  for (const { groups, version, failed } of followers(options, '$Latest')) {
    if (failed.length > 0) {
      keepNumber({ groups, failed, version, ref: '$Latest', ctx: options.ctx });
      continue;
    }
    restores.push(...groups.map((group) => ({ group, newVersion: version })));
  }
  return restores;
}

/** Tells each group that rolled while another follower failed that it keeps the number, and why. */
function keepNumber(args: {
  readonly groups: readonly PlannedGroup[];
  readonly failed: readonly string[];
  readonly version: number;
  readonly ref: '$Default' | '$Latest';
  readonly ctx: PipelineContext;
}): void {
  for (const group of args.groups) {
    if (args.failed.includes(group.name)) continue;
    args.ctx.rt.log
      .child(group.name)
      .warning(
        `the group names ${group.launchTemplateId} version ${args.version} by number, not ${args.ref}: ` +
          `${args.failed.join(', ')} did not roll it out, so ${args.ref} keeps the old image; ` +
          `set it back to ${args.ref} once ${args.ref} launches version ${args.version}'s image`,
      );
  }
}

/**
 * Points each group at its `$Default`/`$Latest` again, but only while that still resolves to the
 * version it rolled out (so no instance is replaced) and while the group still names that version
 * (nobody changed it meanwhile). Reads every template once and the groups 50 a call. Never throws:
 * the refreshes succeeded, so a failure here is a warning that says what the group now points at.
 */
export async function restoreReferences(options: {
  readonly restores: readonly Restore[];
  readonly ctx: PipelineContext;
}): Promise<void> {
  const { restores, ctx } = options;
  if (restores.length === 0) return;
  let numbers: Map<string, TemplateVersionNumbers>;
  let groups: Map<string, AutoScalingGroup>;
  try {
    numbers = await templateVersionNumbers(ctx.rt.ec2, [
      ...new Set(restores.map((r) => r.group.launchTemplateId)),
    ]);
    groups = await describeGroups(
      ctx.rt.autoScaling,
      restores.map((r) => r.group.name),
    );
  } catch (error) {
    for (const restore of restores) restoreFailed(restore, error, ctx);
    return;
  }
  for (const restore of restores) {
    const { group, newVersion } = restore;
    const log = ctx.rt.log.child(group.name);
    const ref = group.versionRef;
    const template = group.launchTemplateId;
    const pinned = `the group names ${template} version ${newVersion} by number`;
    const now = numbers.get(template);
    if (!now) {
      log.warning(
        `${pinned}, not ${ref}: launch template ${template} is gone, so there is no ${ref} to follow`,
      );
      continue;
    }
    const resolved = ref === '$Default' ? now.defaultVersion : now.latestVersion;
    if (resolved !== newVersion) {
      const why =
        ref === '$Latest'
          ? `a newer version (${String(resolved)}) of ${template} was made meanwhile and $Latest would launch it`
          : `the default version of ${template} is ${String(resolved)}, not ${newVersion}`;
      log.warning(`${pinned}, not ${ref}: ${why}; set it back to ${ref} when that is what you want`);
      continue;
    }
    const current = groups.get(group.name);
    const spec = current && groupTemplateSpec(current);
    if (!current || !spec) {
      log.warning(`could not set the group back to ${ref}: it is gone or has no launch template any more`);
      continue;
    }
    if (spec.Version === ref) {
      log.info(`The group already follows ${ref} of ${template}`);
      continue;
    }
    const sameTemplate = spec.LaunchTemplateId
      ? spec.LaunchTemplateId === template
      : spec.LaunchTemplateName === group.launchTemplateName;
    if (!sameTemplate || spec.Version !== String(newVersion)) {
      log.warning(
        `left as it is, not set back to ${ref}: it was changed meanwhile and names ` +
          `${spec.LaunchTemplateId ?? spec.LaunchTemplateName ?? '?'} version ${spec.Version ?? '?'}`,
      );
      continue;
    }
    try {
      await setGroupTemplateReference(ctx.rt.autoScaling, current, {
        LaunchTemplateId: template,
        Version: ref,
      });
      log.info(
        `The group follows ${ref} of ${template} again (version ${newVersion}: no instance is replaced)`,
      );
    } catch (error) {
      restoreFailed(restore, error, ctx);
    }
  }
}

function restoreFailed(restore: Restore, error: unknown, ctx: PipelineContext): void {
  const { group, newVersion } = restore;
  ctx.rt.log
    .child(group.name)
    .warning(
      `the refresh succeeded, but the group names ${group.launchTemplateId} version ${newVersion} by number ` +
        `instead of ${group.versionRef}: ${errorMessage(error)}. Set its launch template version back to ${group.versionRef}`,
    );
}

/**
 * Where a `$Latest` group's roll failed (refresh not Successful, start failed, cancelled) and our
 * version is still the template's latest, adds a copy of the old version, so `$Latest` launches the
 * old image again instead of one that was never rolled out. Never throws: a failure is a warning.
 */
async function revertLatest(options: FinishOptions): Promise<void> {
  const { ctx, log } = options;
  // Only a failure reverts: an unknown outcome (wait-for-refresh false) is a failure to nobody.
  const failing = followers(options, '$Latest').filter(({ groups }) =>
    groups.some((g) => options.rolled.get(g.name) === false),
  );
  if (failing.length === 0) return;
  let numbers: Map<string, TemplateVersionNumbers>;
  try {
    numbers = await templateVersionNumbers(ctx.rt.ec2, [
      ...new Set(failing.map(({ groups }) => (groups[0] as PlannedGroup).launchTemplateId)),
    ]);
  } catch (error) {
    log.warning(`Could not check whether $Latest still launches the new image: ${errorMessage(error)}`);
    return;
  }
  for (const { groups, version, failed } of failing) {
    const first = groups[0] as PlannedGroup;
    const template = first.launchTemplateId;
    const latest = numbers.get(template)?.latestVersion;
    if (latest !== version) {
      log.info(`$Latest of ${template} is version ${String(latest)}, not ours (${version}): left as it is`);
      continue;
    }
    try {
      const revert = await createTemplateVersion(ctx.rt.ec2, {
        launchTemplateId: template,
        sourceVersion: first.version,
        imageId: first.sourceImageId,
        description: revertVersionDescription(ctx.config.run.runId),
      });
      log.warning(
        `${failed.join(', ')} did not roll out ${template} version ${version}, which $Latest launched: ` +
          `created version ${revert} from version ${first.version} (${first.sourceImageId}), so $Latest launches the old image again`,
      );
    } catch (error) {
      log.warning(
        `$Latest of ${template} still launches version ${version}, which ${failed.join(', ')} did not roll out: ` +
          `${errorMessage(error)}. Create a version from version ${first.version} to go back`,
      );
    }
  }
}
