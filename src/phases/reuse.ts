/**
 * Image reuse for `deploy`: before anything is launched, each planned image gets its bake key, and
 * an image whose bake would produce what an available AMI of ours already holds skips launch,
 * deploy and bake and goes straight to its new versions and rolls. Two ways an AMI holds it:
 * - an AMI with the same bake key (a re-run after a failed refresh, the same commit promoted to other
 *   groups on the same base image);
 * - the source image itself, when it is an AMI we baked from its own source with this very deploy
 *   (the groups already run it: a re-run of a successful deploy bakes nothing new).
 */
import type { Image } from '@aws-sdk/client-ec2';
import { describeImages, findOurAmisByTag } from '../aws/images.js';
import { Tags } from '../aws/tags.js';
import { bakeKey, deployDigest, type DeployDigest } from './bake-key.js';
import type { DeployPlan, ReusedImage } from './plan.js';
import type { PipelineContext } from './context.js';

export interface ReusePlan {
  /** The bake key of each planned image, by source image id: tagged on the AMI it bakes. */
  readonly keys: ReadonlyMap<string, string>;
  /** The AMI each reused image's groups roll out instead, by source image id. */
  readonly reused: ReadonlyMap<string, ReusedImage>;
}

const tagOf = (image: Image, key: string): string | undefined =>
  image.Tags?.find((t) => t.Key === key)?.Value;

/** The newest of several AMIs (by CreationDate, then id, so the choice is stable). */
function newest(images: readonly Image[]): Image | undefined {
  return [...images].sort(
    (a, b) =>
      (b.CreationDate ?? '').localeCompare(a.CreationDate ?? '') ||
      (b.ImageId ?? '').localeCompare(a.ImageId ?? ''),
  )[0];
}

/**
 * Pure: which planned images reuse which AMI. `sources` are the source images that are ours (any
 * state); `matches` our available AMIs carrying one of the keys.
 */
export function chooseReuse(input: {
  readonly sourceImageIds: readonly string[];
  readonly digest: DeployDigest;
  readonly sources: ReadonlyMap<string, Image>;
  readonly matches: readonly Image[];
}): ReusePlan {
  const keys = new Map<string, string>();
  const reused = new Map<string, ReusedImage>();
  for (const sourceImageId of input.sourceImageIds) {
    const key = bakeKey(input.digest, sourceImageId);
    keys.set(sourceImageId, key);
    const source = input.sources.get(sourceImageId);
    const sourceOfSource = source && tagOf(source, Tags.SourceImage);
    const alreadyBaked =
      source?.State === 'available' &&
      sourceOfSource !== undefined &&
      tagOf(source, Tags.BakeKey) === bakeKey(input.digest, sourceOfSource);
    const found = alreadyBaked ? source : newest(input.matches.filter((i) => tagOf(i, Tags.BakeKey) === key));
    if (found?.ImageId) {
      reused.set(sourceImageId, { imageId: found.ImageId, runId: tagOf(found, Tags.RunId) ?? 'unknown' });
    }
  }
  return { keys, reused };
}

/** Digests the deploy, then asks EC2 which images are already baked; two Describe calls at most. */
export async function planReuse(plan: DeployPlan, ctx: PipelineContext): Promise<ReusePlan> {
  const { config, rt } = ctx;
  const digest = await deployDigest(config.deploy, {
    workspace: config.run.workspace,
    commit: config.run.commit,
  });
  const sourceImageIds = plan.images.map((image) => image.sourceImageId);
  // Without reuse the keys are still tagged on what is baked, so later runs can reuse it.
  if (!config.bake.reuseImage || sourceImageIds.length === 0)
    return chooseReuse({ sourceImageIds, digest, sources: new Map(), matches: [] });
  const sources = await describeImages(rt.ec2, sourceImageIds);
  const matches = await findOurAmisByTag(rt.ec2, {
    key: Tags.BakeKey,
    values: sourceImageIds.map((id) => bakeKey(digest, id)),
  });
  return chooseReuse({ sourceImageIds, digest, sources, matches });
}
