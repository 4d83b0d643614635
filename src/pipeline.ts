/**
 * The deploy as one pipeline per distinct source image: launch → SSH → deploy → stop → image →
 * new launch template versions → one refresh per group. Pipelines do not wait for each other: an
 * image that is ready rolls its groups at once, so the run takes about as long as its slowest
 * pipeline. One limiter caps the work in flight at `max-parallel` (an image build or a group roll
 * is one operation); a roll waiting for a slot goes before an image build that has not started, so
 * a built image's groups finish instead of waiting behind every build queued before them. Every
 * failure is recorded against the groups it affects, never thrown.
 */
import { createTemplateVersion, setDefaultVersion } from './aws/launch-templates.js';
import { VersionDescriptionPrefix } from './constants.js';
import { errorMessage } from './errors.js';
import type { Limiter } from './parallel.js';
import type { DeployPlan, PlannedGroup, PlannedImage } from './plan.js';
import type { RunReport } from './report.js';
import type { Logger } from './runtime.js';
import type { PipelineContext } from './phases/context.js';
import { bakeImage } from './phases/bake.js';
import { deployToInstance, type SshTransport } from './phases/deploy.js';
import { RefreshFailedError, restoreReferences, rollGroup } from './phases/roll.js';
import { retireInstance, setupInstance, type TemporaryInstance } from './phases/setup.js';
import type { HostKeyVerifier } from './ssh.js';

/** `deploy` does it all; `setup` stops once SSH answers; `finalize` starts from setup's instances. */
export type PipelineMode = 'deploy' | 'setup' | 'finalize';

export interface PipelineOptions {
  readonly mode: PipelineMode;
  readonly ctx: PipelineContext;
  readonly report: RunReport;
  readonly limiter: Limiter;
  readonly transport: SshTransport;
  /** Needed by `deploy` only. */
  readonly hostKeys?: HostKeyVerifier;
  /** For `finalize`: the setup step's instance per source image. */
  readonly instances?: ReadonlyMap<string, TemporaryInstance>;
}

/** Runs every image's pipeline and resolves when all have ended; outcomes are in `report`. */
export async function runPipelines(plan: DeployPlan, options: PipelineOptions): Promise<void> {
  for (const failure of plan.failures) options.report.fail(failure.group, failure.error);
  for (const image of plan.images) {
    for (const group of image.groups) {
      Object.assign(options.report.row(group.name), {
        sourceImageId: image.sourceImageId,
        launchTemplateId: group.launchTemplateId,
        sourceVersion: group.version,
      });
    }
  }
  await Promise.all(plan.images.map((image) => imagePipeline(image, options)));
}

/** The key of one new launch template version: groups on the same template and version share it. */
function versionKey(group: PlannedGroup): string {
  return `${group.launchTemplateId}:${group.version}`;
}

async function imagePipeline(image: PlannedImage, options: PipelineOptions): Promise<void> {
  const { ctx, report } = options;
  const log = ctx.rt.log.child(image.sourceImageId);
  const groupNames = image.groups.map((g) => g.name);
  let versions: Map<string, number | Error>;
  try {
    const built = await options.limiter(() => buildImage(image, options, log), { priority: 'start' });
    if (!built) return; // setup: the instance stays for the user's own deploy
    versions = built;
  } catch (error) {
    const cause = `image ${image.sourceImageId}: ${errorMessage(error)}`;
    log.error(cause);
    for (const name of groupNames) report.fail(name, cause);
    return;
  }
  const rolled = new Map<string, boolean>();
  await Promise.all(
    image.groups.map(async (group) => {
      const glog = ctx.rt.log.child(group.name);
      const version = versions.get(versionKey(group));
      if (version === undefined || version instanceof Error) {
        report.fail(group.name, errorMessage(version ?? new Error('no new launch template version')));
        return;
      }
      try {
        const record = await options.limiter(
          () => ctx.timeline.record(group.name, 'roll', () => rollGroup(group, version, ctx, glog)),
          { priority: 'finish' },
        );
        report.addRefresh(record);
        rolled.set(group.name, true);
      } catch (error) {
        if (error instanceof RefreshFailedError) report.addRefresh(error.record);
        report.fail(group.name, errorMessage(error));
        rolled.set(group.name, false);
      }
    }),
  );
  await promoteDefaults(image, versions, rolled, options);
}

/**
 * Everything an image needs before its groups roll: the instance (launched, or setup's), the deploy,
 * the AMI, the instance's termination and the new template versions. Undefined for `setup`.
 */
async function buildImage(
  image: PlannedImage,
  options: PipelineOptions,
  log: Logger,
): Promise<Map<string, number | Error> | undefined> {
  const { ctx, report, mode } = options;
  const groups = image.groups.map((g) => g.name);
  let instance: TemporaryInstance;
  if (mode === 'finalize') {
    const given = options.instances?.get(image.sourceImageId);
    if (!given) throw new Error(`the setup step prepared no instance for ${image.sourceImageId}`);
    instance = { ...given, groups };
  } else {
    instance = await setupInstance(image, ctx, options.transport, log);
  }
  report.instances.push({
    instanceId: instance.instanceId,
    address: instance.address,
    imageId: image.sourceImageId,
    groups,
  });
  if (mode === 'setup') return undefined;
  let imageId: string;
  try {
    if (mode === 'deploy') {
      if (!options.hostKeys) throw new Error('deploy needs a host key policy');
      await deployToInstance(
        instance,
        { ctx, transport: options.transport, hostKeys: options.hostKeys },
        log,
      );
    }
    imageId = (await bakeImage({ instance, image }, ctx, log)).imageId;
  } finally {
    // The AMI exists (or the pipeline failed): the instance costs money and is no longer needed.
    await retireInstance(instance.instanceId, ctx, log);
  }
  report.amis.push({ imageId, sourceImageId: image.sourceImageId, groups });
  for (const name of groups) report.row(name).amiId = imageId;
  return createVersions(image, imageId, options, log);
}

/** One new version per template and source version, however many groups use it. */
async function createVersions(
  image: PlannedImage,
  imageId: string,
  options: PipelineOptions,
  log: Logger,
): Promise<Map<string, number | Error>> {
  const { ctx, report } = options;
  const byKey = new Map<string, PlannedGroup[]>();
  for (const group of image.groups)
    byKey.set(versionKey(group), [...(byKey.get(versionKey(group)) ?? []), group]);
  const versions = new Map<string, number | Error>();
  const commit = ctx.config.run.commit.slice(0, 7) || 'local';
  for (const [key, groups] of byKey) {
    const first = groups[0] as PlannedGroup;
    try {
      const version = await createTemplateVersion(ctx.rt.ec2, {
        launchTemplateId: first.launchTemplateId,
        sourceVersion: first.version,
        imageId,
        description: `${VersionDescriptionPrefix} run ${ctx.config.run.runId} commit ${commit}`,
      });
      log.info(
        `Created ${first.launchTemplateId} version ${version} (from version ${first.version}) with ${imageId}`,
      );
      versions.set(key, version);
      const names = groups.map((g) => g.name);
      report.versions.push({ launchTemplateId: first.launchTemplateId, version, imageId, groups: names });
      for (const name of names) report.row(name).newVersion = version;
    } catch (error) {
      log.error(errorMessage(error));
      versions.set(key, error instanceof Error ? error : new Error(errorMessage(error)));
    }
  }
  return versions;
}

/**
 * Makes each new version the default of its template once every group that follows `$Default` on
 * it rolled successfully; with one failure the old default stays, so scale-outs keep the proven image.
 */
async function promoteDefaults(
  image: PlannedImage,
  versions: ReadonlyMap<string, number | Error>,
  rolled: ReadonlyMap<string, boolean>,
  options: PipelineOptions,
): Promise<void> {
  const { ctx, report } = options;
  const log = ctx.rt.log.child(image.sourceImageId);
  const followers = new Map<string, PlannedGroup[]>();
  for (const group of image.groups) {
    if (group.versionRef !== '$Default') continue;
    followers.set(versionKey(group), [...(followers.get(versionKey(group)) ?? []), group]);
  }
  for (const [key, groups] of followers) {
    const version = versions.get(key);
    if (typeof version !== 'number') continue;
    const templateId = (groups[0] as PlannedGroup).launchTemplateId;
    const failed = groups.filter((g) => rolled.get(g.name) !== true).map((g) => g.name);
    if (failed.length > 0) {
      log.warning(
        `${templateId} keeps its default version: ${failed.join(', ')} did not roll out version ${version}`,
      );
      // Those that did now name the version by number; restoreReferences says so, group by group.
      await restoreReferences(groups.filter((g) => rolled.get(g.name) === true), version, ctx);
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
      await restoreReferences(groups, version, ctx);
    } catch (error) {
      for (const group of groups) report.fail(group.name, `refresh succeeded, but ${errorMessage(error)}`);
    }
  }
}
