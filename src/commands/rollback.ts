/**
 * `rollback`: returns each selected group to an image it ran before (`rollback-to`), without
 * launching or baking anything: a new version of the group's current launch template version with
 * that image, rolled out exactly as a deploy rolls (refresh preferences, waiting, reporting, the
 * `$Latest`/`$Default` handling of phases/versions.ts). A group that cannot roll back fails alone,
 * saying why; the others roll.
 */
import * as core from '@actions/core';
import type { Image } from '@aws-sdk/client-ec2';
import { describeAnyImages, findOurAmisByTag } from '../aws/images.js';
import { rollbackVersionDescription, Tags } from '../aws/tags.js';
import type { RollbackTarget } from '../config/index.js';
import { createLimiter } from '../lib/parallel.js';
import { errorMessage } from '../lib/errors.js';
import { discover } from '../phases/discover.js';
import { rollImage } from '../phases/pipeline.js';
import type { PlannedGroup, PlannedImage } from '../phases/plan.js';
import { chooseRollbackTarget, previousImageOf } from '../phases/rollback-target.js';
import { autoScalingActions, firstPerTemplate } from '../phases/preflight.js';
import { refreshPreferences } from '../phases/roll.js';
import { createVersions } from '../phases/versions.js';
import type { PermissionCheck, RunPlan } from '../report/plan.js';
import { pipelineContext, type CommandContext } from './context.js';
import { dryRunOrPreflight } from './preflight.js';

/** Groups that run the same image and return to the same one share their new versions. */
interface RollbackUnit {
  readonly image: PlannedImage;
  readonly targetImageId: string;
  readonly target: Image;
  /** Why this image: "the image it ran before (…)". */
  readonly why: string;
}

/** A commit shorter than a full SHA matches every commit tag it starts. */
const commitFilter = (commit: string): string => (commit.length === 40 ? commit : `${commit}*`);

/** Everything the target choice reads: the images involved and, for a commit, its AMIs. */
async function gatherFacts(
  groups: readonly PlannedGroup[],
  target: RollbackTarget,
  ctx: CommandContext,
): Promise<{ images: Map<string, Image>; commitAmis: Image[] }> {
  const { ec2 } = ctx.rt;
  const images = await describeAnyImages(ec2, [
    ...groups.map((g) => g.sourceImageId),
    ...(target.kind === 'image' ? [target.imageId] : []),
  ]);
  const commitAmis =
    target.kind === 'commit'
      ? await findOurAmisByTag(ec2, { key: Tags.Commit, values: [commitFilter(target.commit)] })
      : [];
  for (const ami of commitAmis) if (ami.ImageId) images.set(ami.ImageId, ami);
  if (target.kind === 'previous') {
    const previous = groups.flatMap((g) => {
      const found = previousImageOf(g, images.get(g.sourceImageId));
      return 'imageId' in found && !images.has(found.imageId) ? [found.imageId] : [];
    });
    for (const [id, image] of await describeAnyImages(ec2, previous)) images.set(id, image);
  }
  return { images, commitAmis };
}

export async function rollbackCommand(ctx: CommandContext): Promise<void> {
  const { config, rt, report } = ctx;
  const plan = await discover(config.selection, rt);
  for (const failure of plan.failures) report.fail(failure.group, failure.error);
  for (const warning of plan.warnings) rt.log.child(warning.group).warning(warning.error);
  const groups = plan.images.flatMap((image) => image.groups);
  const facts = await gatherFacts(groups, config.rollbackTo, ctx);
  const units = new Map<string, RollbackUnit & { groups: PlannedGroup[] }>();
  const lines: string[] = [];
  const refused: { group: string; error: string }[] = [];
  for (const group of groups) {
    Object.assign(report.row(group.name), {
      sourceImageId: group.sourceImageId,
      launchTemplateId: group.launchTemplateId,
      sourceVersion: group.version,
    });
    const choice = chooseRollbackTarget(group, config.rollbackTo, { ...facts, keep: config.cleanup.keep });
    if ('error' in choice) {
      lines.push(`Cannot roll back: ${group.name} ${choice.error}`);
      report.fail(group.name, `cannot roll back: ${choice.error}`);
      refused.push({ group: group.name, error: `cannot roll back: ${choice.error}` });
      continue;
    }
    if (choice.imageId === group.sourceImageId) {
      lines.push(`${group.name}: already runs ${choice.imageId} (${choice.why}); nothing to roll back`);
      continue;
    }
    lines.push(`${group.name}: ${group.sourceImageId} → ${choice.imageId} (${choice.why})`);
    const key = `${group.sourceImageId}>${choice.imageId}`;
    const unit = units.get(key) ?? {
      image: {
        sourceImageId: group.sourceImageId,
        launchTemplateId: '',
        version: 0,
        subnetIds: [],
        groups: [],
      },
      targetImageId: choice.imageId,
      target: facts.images.get(choice.imageId) as Image,
      why: choice.why,
      groups: [],
    };
    unit.groups.push(group);
    units.set(key, unit);
  }
  core.startGroup('Plan');
  rt.log.info(
    [
      `Rollback to ${describeTarget(config.rollbackTo)}: ${units.size} image(s), nothing to launch or bake`,
      ...lines,
    ].join('\n'),
  );
  core.endGroup();
  const planned = [...units.values()];
  const stop = await dryRunOrPreflight(ctx, {
    targets: {
      launches: [],
      versions: planned.flatMap((unit) =>
        firstPerTemplate(unit.groups).map((group) => ({ group, imageId: unit.targetImageId })),
      ),
      defaults: firstPerTemplate(
        planned.flatMap((unit) => unit.groups).filter((g) => g.versionRef === '$Default'),
      ),
      instances: [],
      afterLaunch: [],
      autoScaling: autoScalingActions(
        ctx,
        planned.flatMap((unit) => unit.groups),
      ),
    },
    describe: (checks) => rollbackPlan(planned, [...plan.failures, ...refused], ctx, checks),
  });
  if (stop) return;
  const options = { ctx: pipelineContext(ctx), report, limiter: createLimiter(config.maxParallel) };
  await Promise.all(
    [...units.values()].map(async (unit) => {
      const image: PlannedImage = { ...unit.image, groups: unit.groups };
      const log = rt.log.child(image.sourceImageId);
      report.amis.push({
        imageId: unit.targetImageId,
        sourceImageId: image.sourceImageId,
        groups: unit.groups.map((g) => g.name),
        reusedFromRun: unit.target.Tags?.find((t) => t.Key === Tags.RunId)?.Value ?? '',
      });
      try {
        const versions = await options.limiter(
          () =>
            createVersions({
              image,
              imageId: unit.targetImageId,
              ctx: options.ctx,
              report,
              log,
              description: rollbackVersionDescription(config.run.runId, image.sourceImageId),
            }),
          { priority: 'start' },
        );
        await rollImage(image, versions, options, log);
      } catch (error) {
        for (const group of unit.groups) report.fail(group.name, errorMessage(error));
      }
    }),
  );
}

/** The `plan` of a rollback: each image's way back, the versions it makes, the checks made. */
function rollbackPlan(
  units: readonly (RollbackUnit & { groups: readonly PlannedGroup[] })[],
  notDeployable: readonly { group: string; error: string }[],
  ctx: CommandContext,
  checks: readonly PermissionCheck[],
): RunPlan {
  const { config } = ctx;
  return {
    command: config.command,
    dryRun: config.dryRun,
    groups: units.flatMap((unit) =>
      unit.groups.map((g) => ({
        group: g.name,
        launchTemplateId: g.launchTemplateId,
        launchTemplateName: g.launchTemplateName,
        version: g.version,
        versionRef: g.versionRef,
        sourceImageId: g.sourceImageId,
        newVersion: `new version of ${g.launchTemplateId} from version ${g.version} with ${unit.targetImageId}`,
      })),
    ),
    images: units.map((unit) => ({
      sourceImageId: unit.image.sourceImageId,
      groups: unit.groups.map((g) => g.name),
      how: `roll back to ${unit.targetImageId} (${unit.why})`,
    })),
    notDeployable,
    refreshPreferences: refreshPreferences(config.roll, { autoRollback: config.roll.autoRollback }),
    checks,
  };
}

function describeTarget(target: RollbackTarget): string {
  if (target.kind === 'previous') return 'the previous image';
  if (target.kind === 'commit') return `commit ${target.commit}`;
  return target.imageId;
}
