/**
 * Bakes the temporary instance into an AMI: stop it (consistent file systems) unless told not to,
 * CreateImage with our tags on image and snapshots, and wait until the image is available.
 */
import type { Tag as Ec2Tag } from '@aws-sdk/client-ec2';
import { createImage, discardImage } from '../aws/images.js';
import { stopInstance } from '../aws/instances.js';
import type { Tag } from '../config/index.js';
import { ownTags, Roles, Tags } from '../aws/tags.js';
import { errorMessage } from '../lib/errors.js';
import type { PlannedImage } from './plan.js';
import type { Logger } from '../lib/runtime.js';
import type { PipelineContext } from './context.js';
import type { TemporaryInstance } from '../config/hand-off.js';

/** `20260102T030405Z`: sortable, and only characters AMI names allow. */
export function compactTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/** `${prefix}-${sourceImage}-${commit7}-${timestamp}`: unique per image and run, readable in the console. */
export function amiName(options: {
  readonly prefix: string;
  readonly sourceImageId: string;
  readonly commit: string;
  readonly now: number;
}): string {
  const commit = options.commit.slice(0, 7) || 'local';
  return `${options.prefix}-${options.sourceImageId}-${commit}-${compactTimestamp(options.now)}`.slice(
    0,
    128,
  );
}

/** The tags of a new AMI and its snapshots: how cleanup and later runs recognise them. */
export function amiTags(options: {
  readonly image: PlannedImage;
  readonly runId: string;
  readonly commit: string;
  readonly actionVersion: string;
  readonly extra: readonly Tag[];
  /** The bake key (bake-key.ts), when the run knows what went into the image. */
  readonly bakeKey?: string | undefined;
}): Ec2Tag[] {
  const ours = [
    ...ownTags({
      ...options,
      role: Roles.Ami,
      sourceImageId: options.image.sourceImageId,
      groups: options.image.groups,
    }),
    ...(options.bakeKey ? [{ Key: Tags.BakeKey, Value: options.bakeKey }] : []),
  ];
  const reserved = new Set(ours.map((t) => t.Key));
  return [
    ...ours,
    ...options.extra.filter((t: Tag) => !reserved.has(t.key)).map((t) => ({ Key: t.key, Value: t.value })),
  ];
}

export interface BakedImage {
  readonly imageId: string;
  readonly name: string;
}

/**
 * Stops (optionally) and images the instance, resolving once the AMI is available. ami-timeout is
 * one deadline for both: the stop and the wait for `available` share it. An AMI whose wait fails
 * (failed, timed out, cancelled) is deregistered with its snapshots, so it takes no rollback slot.
 */
export async function bakeImage(
  options: {
    readonly instance: TemporaryInstance;
    readonly image: PlannedImage;
    /** Tagged on the AMI so later runs can reuse it; undefined when the deploy was not ours (finalize). */
    readonly bakeKey?: string | undefined;
  },
  ctx: PipelineContext,
  log: Logger,
): Promise<BakedImage> {
  const { instance, image } = options;
  const bake = ctx.config.bake;
  const deadline = ctx.rt.clock.now() + bake.timeoutSeconds * 1000;
  const remaining = (): number => Math.max(0, deadline - ctx.rt.clock.now());
  const lane = image.sourceImageId;
  if (bake.stopBeforeImage) {
    await ctx.timeline.record(lane, 'stop', async () => {
      log.info(`Stopping ${instance.instanceId} so the image is consistent`);
      await stopInstance(ctx.rt.ec2, instance.instanceId, ctx.rt.signal);
      await ctx.pollers.instances.waitFor(instance.instanceId, {
        test: (i) => {
          const state = i?.State?.Name;
          if (state === 'stopped') return 'done';
          if (state === 'terminated' || state === 'shutting-down')
            return { error: `instance ${instance.instanceId} is ${state}` };
          return 'pending';
        },
        timeoutMs: remaining(),
        what: `instance ${instance.instanceId} to stop`,
        signal: ctx.rt.signal,
      });
    });
  }
  return ctx.timeline.record(lane, 'image', async () => {
    const name = amiName({
      prefix: bake.amiNamePrefix,
      sourceImageId: image.sourceImageId,
      commit: ctx.config.run.commit,
      now: ctx.rt.clock.now(),
    });
    const imageId = await createImage(ctx.rt.ec2, {
      instanceId: instance.instanceId,
      name,
      description: `asg-rolling run ${ctx.config.run.runId} from ${image.sourceImageId}`,
      tags: amiTags({
        image,
        runId: ctx.config.run.runId,
        commit: ctx.config.run.commit,
        actionVersion: ctx.actionVersion,
        extra: bake.amiTags,
        bakeKey: options.bakeKey,
      }),
      noReboot: !bake.stopBeforeImage,
      signal: ctx.rt.signal,
    });
    log.info(`Creating ${imageId} (${name})`);
    try {
      await ctx.pollers.images.waitFor(imageId, {
        test: (i) => {
          if (i?.State === 'available') return 'done';
          if (
            i?.State === 'failed' ||
            i?.State === 'error' ||
            i?.State === 'invalid' ||
            i?.State === 'deregistered'
          ) {
            return {
              error: `image ${imageId} is ${i.State}${i.StateReason?.Message ? `: ${i.StateReason.Message}` : ''}`,
            };
          }
          return 'pending';
        },
        timeoutMs: remaining(),
        what: `image ${imageId} to be available`,
        signal: ctx.rt.signal,
      });
    } catch (error) {
      await discard(imageId, ctx, log);
      throw error;
    }
    log.info(`${imageId} is available`);
    return { imageId, name };
  });
}

/** Deregisters an AMI the run gave up on; a failure is a warning (cleanup finds it by its tags). */
async function discard(imageId: string, ctx: PipelineContext, log: Logger): Promise<void> {
  try {
    const { deletedSnapshots, keptSnapshots } = await discardImage(ctx.rt.ec2, imageId);
    const snapshots =
      deletedSnapshots.length > 0 ? ` and its snapshot(s) ${deletedSnapshots.join(', ')}` : '';
    log.info(`Deregistered ${imageId}${snapshots}: the run does not use it`);
    if (keptSnapshots.length > 0)
      log.warning(
        `Could not delete snapshot(s) ${keptSnapshots.join(', ')} of ${imageId}; cleanup retires them later`,
      );
  } catch (error) {
    log.warning(`${errorMessage(error)}; the unused AMI stays until a cleanup retires it`);
  }
}
