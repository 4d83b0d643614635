/**
 * The deploy as one pipeline per distinct source image: launch → SSH → deploy → stop → image →
 * new launch template versions → one refresh per group. Pipelines do not wait for each other: an
 * image that is ready rolls its groups at once, so the run takes about as long as its slowest
 * pipeline. One limiter caps the work in flight at `max-parallel` (an image build or a group roll
 * is one operation); a roll waiting for a slot goes before an image build that has not started, so
 * a built image's groups finish instead of waiting behind every build queued before them. Every
 * failure is recorded against the groups it affects, never thrown. This file only wires the stages;
 * what happens to the launch template versions around the rolls is in phases/versions.ts.
 */
import { errorMessage } from '../lib/errors.js';
import type { Limiter } from '../lib/parallel.js';
import type { DeployPlan, PlannedImage, ReusedImage } from './plan.js';
import type { ReusePlan } from './reuse.js';
import type { RunReport } from '../report/summary.js';
import type { Logger } from '../lib/runtime.js';
import type { PipelineContext } from './context.js';
import { bakeImage } from './bake.js';
import { deployToInstance, type SshTransport } from './deploy.js';
import { RefreshFailedError, rollGroup } from './roll.js';
import type { TemporaryInstance } from '../config/hand-off.js';
import { retireInstance, setupInstance } from './setup.js';
import { createVersions, finishVersions, versionKey, type NewVersions } from './versions.js';
import type { HostKeyVerifier } from '../ssh/index.js';

/** `deploy` does it all; `setup` stops once SSH answers; `finalize` starts from setup's instances. */
export type PipelineMode = 'deploy' | 'setup' | 'finalize';

export interface PipelineOptions {
  readonly mode: PipelineMode;
  readonly ctx: PipelineContext;
  readonly report: RunReport;
  readonly limiter: Limiter;
  readonly transport: SshTransport;
  /** Needed by `deploy` and `setup` (their probes check host keys); `finalize` opens no SSH. */
  readonly hostKeys?: HostKeyVerifier;
  /** For `finalize`: the setup step's instance per source image. */
  readonly instances?: ReadonlyMap<string, TemporaryInstance>;
  /** For `deploy`: the bake keys, and the images that reuse an AMI instead of baking (reuse.ts). */
  readonly reuse?: ReusePlan;
}

/** What the roll stage needs: the run's context, where outcomes go, and the one limiter. */
export type RollStageOptions = Pick<PipelineOptions, 'ctx' | 'report' | 'limiter'>;

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

async function imagePipeline(image: PlannedImage, options: PipelineOptions): Promise<void> {
  const { ctx, report } = options;
  const log = ctx.rt.log.child(image.sourceImageId);
  const groupNames = image.groups.map((g) => g.name);
  let versions: Map<string, number | Error>;
  try {
    const reused = options.reuse?.reused.get(image.sourceImageId);
    const built = await options.limiter(
      () => (reused ? reuseImage(image, reused, options, log) : buildImage(image, options, log)),
      { priority: 'start' },
    );
    if (!built) return; // setup: the instance stays for the user's own deploy
    versions = built;
  } catch (error) {
    const cause = `image ${image.sourceImageId}: ${errorMessage(error)}`;
    log.error(cause);
    for (const name of groupNames) report.fail(name, cause);
    return;
  }
  await rollImage(image, versions, options, log);
}

/**
 * Rolls every group of an image onto its new version, then settles the versions (defaults,
 * references, `$Latest`). Shared by the deploy and `rollback`, so both wait, report and restore alike.
 */
export async function rollImage(
  image: PlannedImage,
  versions: NewVersions,
  options: RollStageOptions,
  log: Logger,
): Promise<void> {
  const { ctx, report } = options;
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
          () =>
            ctx.timeline.record(group.name, 'roll', () =>
              rollGroup({ group, newVersion: version }, ctx, glog),
            ),
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
  await finishVersions({ image, versions, rolled, ctx, report, limiter: options.limiter, log });
}

/** An image whose AMI already exists: no instance, no deploy, no bake; only the new versions. */
async function reuseImage(
  image: PlannedImage,
  reused: ReusedImage,
  options: PipelineOptions,
  log: Logger,
): Promise<Map<string, number | Error>> {
  const { ctx, report } = options;
  log.info(`Reusing ${reused.imageId} (baked by run ${reused.runId}): nothing to launch or bake`);
  report.amis.push({
    imageId: reused.imageId,
    sourceImageId: image.sourceImageId,
    groups: image.groups.map((g) => g.name),
    reusedFromRun: reused.runId,
  });
  return createVersions({ image, imageId: reused.imageId, ctx, report, log });
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
    instance = await setupInstance(
      { image, waitForSsh: options.transport.waitForSsh, hostKeys: options.hostKeys },
      ctx,
      log,
    );
  }
  report.instances.push(instance);
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
    const bakeKey = options.reuse?.keys.get(image.sourceImageId);
    imageId = (await bakeImage({ instance, image, bakeKey }, ctx, log)).imageId;
  } finally {
    // The AMI exists (or the pipeline failed): the instance costs money and is no longer needed.
    await retireInstance(instance.instanceId, ctx, log);
  }
  report.amis.push({ imageId, sourceImageId: image.sourceImageId, groups });
  return createVersions({ image, imageId, ctx, report, log });
}
