/**
 * The plan of a run and its permission preflight. Every EC2 call the run would make that supports
 * DryRun is sent once with DryRun, as the run would send it: RunInstances from each image's launch
 * template version in its first subnet (which also proves iam:PassRole for the template's instance
 * profile and KMS for its encrypted volumes), CreateLaunchTemplateVersion per template,
 * ModifyLaunchTemplate for `$Default` groups, and StopInstances, CreateImage and TerminateInstances
 * on temporary instances that already exist (finalize). Auto Scaling has no DryRun: its calls are
 * listed as not checkable. A rollback builds its own targets (commands/rollback.ts).
 */
import type { DryRunAnswer } from '../aws/dry-run.js';
import {
  dryRunCreateImage,
  dryRunLaunch,
  dryRunNewVersion,
  dryRunSetDefault,
  dryRunStop,
  dryRunTerminate,
} from '../aws/dry-run.js';
import { versionDescription } from '../aws/tags.js';
import type { TemporaryInstance } from '../config/hand-off.js';
import { runAll } from '../lib/parallel.js';
import type { PermissionCheck, PlanGroup, PlanImage, RunPlan } from '../report/plan.js';
import { amiName, amiTags } from './bake.js';
import type { PipelineContext } from './context.js';
import type { PipelineMode } from './pipeline.js';
import type { DeployPlan, PlannedGroup, PlannedImage, ReusedImage } from './plan.js';
import { refreshPreferences } from './roll.js';
import { instanceTags } from './setup.js';

/** What the run would call, by kind; each entry is one DryRun request (or one "not checkable" row). */
export interface PreflightTargets {
  /** RunInstances: one temporary instance per image. */
  readonly launches: readonly PlannedImage[];
  /** CreateLaunchTemplateVersion from the version the groups use today, with this image. */
  readonly versions: readonly { readonly group: PlannedGroup; readonly imageId: string }[];
  /** ModifyLaunchTemplate for templates whose `$Default` groups get promoted. */
  readonly defaults: readonly PlannedGroup[];
  /** Temporary instances that exist already: StopInstances, CreateImage, TerminateInstances. */
  readonly instances: readonly { readonly image: PlannedImage; readonly instance: TemporaryInstance }[];
  /** Calls made on instances the run has not launched yet: listed, checkable only once they exist. */
  readonly afterLaunch: readonly string[];
  /** Auto Scaling actions the run would call: listed as not checkable. */
  readonly autoScaling: readonly string[];
}

/** One group per template: the run makes one version per template (phases/versions.ts). */
export function firstPerTemplate(groups: readonly PlannedGroup[]): PlannedGroup[] {
  const seen = new Map<string, PlannedGroup>();
  for (const group of groups) if (!seen.has(group.launchTemplateId)) seen.set(group.launchTemplateId, group);
  return [...seen.values()];
}

/** Auto Scaling actions a roll of these groups calls, by the settings that bring them in. */
export function autoScalingActions(
  ctx: Pick<PipelineContext, 'config'>,
  groups: readonly PlannedGroup[],
): string[] {
  const actions = ['autoscaling:StartInstanceRefresh', 'autoscaling:DescribeInstanceRefreshes'];
  if (ctx.config.roll.onRefreshInProgress === 'cancel') actions.push('autoscaling:CancelInstanceRefresh');
  if (groups.some((g) => g.versionRef !== 'number')) actions.push('autoscaling:UpdateAutoScalingGroup');
  return actions;
}

/**
 * The targets of a deploy, setup or finalize of `plan`; `instances` are setup's, for finalize.
 * An image whose AMI is `reused` launches nothing: only its new versions are checked, with that AMI.
 */
export function pipelineTargets(
  plan: DeployPlan,
  mode: PipelineMode,
  ctx: Pick<PipelineContext, 'config'>,
  instances?: ReadonlyMap<string, TemporaryInstance>,
  reused: ReadonlyMap<string, ReusedImage> = new Map(),
): PreflightTargets {
  const groups = plan.images.flatMap((image) => image.groups);
  const launched = plan.images.filter((image) => !reused.has(image.sourceImageId));
  const bakes = mode !== 'setup';
  const imageCalls = [
    ...(ctx.config.bake.stopBeforeImage ? ['ec2:StopInstances'] : []),
    'ec2:CreateImage',
    ...(ctx.config.keepInstances ? [] : ['ec2:TerminateInstances']),
  ];
  return {
    launches: mode === 'finalize' ? [] : launched,
    versions: bakes
      ? plan.images.flatMap((image) =>
          firstPerTemplate(image.groups).map((group) => ({
            group,
            imageId: reused.get(image.sourceImageId)?.imageId ?? image.sourceImageId,
          })),
        )
      : [],
    defaults: bakes ? firstPerTemplate(groups.filter((g) => g.versionRef === '$Default')) : [],
    instances:
      mode === 'finalize'
        ? plan.images.flatMap((image) => {
            const instance = instances?.get(image.sourceImageId);
            return instance ? [{ image, instance }] : [];
          })
        : [],
    afterLaunch: mode === 'deploy' && launched.length > 0 ? imageCalls : [],
    autoScaling: bakes ? autoScalingActions(ctx, groups) : [],
  };
}

function check(action: string, target: string, answer: DryRunAnswer): PermissionCheck {
  return {
    action,
    target,
    outcome: answer.outcome,
    detail: answer.outcome === 'allowed' ? '' : `${answer.code}: ${answer.message}`,
  };
}

/** Sends every DryRun request of `targets` (a few at a time) and lists the calls it cannot check. */
export async function checkPermissions(
  targets: PreflightTargets,
  ctx: Pick<PipelineContext, 'config' | 'rt' | 'actionVersion'>,
): Promise<PermissionCheck[]> {
  const { ec2 } = ctx.rt;
  const { runId, commit } = ctx.config.run;
  const now = ctx.rt.clock.now();
  const requests: (() => Promise<PermissionCheck>)[] = [
    ...targets.launches.map((image) => async () => {
      const subnetId = image.subnetIds[0];
      const tags = instanceTags({
        image,
        runId,
        commit,
        actionVersion: ctx.actionVersion,
        now,
        launchToken: 'preflight',
      });
      const answer = await dryRunLaunch(ec2, {
        launchTemplateId: image.launchTemplateId,
        version: image.version,
        subnetId,
        tags,
      });
      return check(
        'ec2:RunInstances',
        `${image.launchTemplateId} version ${image.version}${subnetId ? ` in ${subnetId}` : ''}`,
        answer,
      );
    }),
    ...targets.versions.map(({ group, imageId }) => async () => {
      const answer = await dryRunNewVersion(ec2, {
        launchTemplateId: group.launchTemplateId,
        sourceVersion: group.version,
        imageId,
        description: versionDescription(runId, commit),
      });
      return check(
        'ec2:CreateLaunchTemplateVersion',
        `${group.launchTemplateId} from version ${group.version}`,
        answer,
      );
    }),
    ...targets.defaults.map(
      (group) => async () =>
        check(
          'ec2:ModifyLaunchTemplate',
          `${group.launchTemplateId} default version`,
          await dryRunSetDefault(ec2, group.launchTemplateId, group.version),
        ),
    ),
    ...targets.instances.flatMap(({ image, instance }) => {
      const id = instance.instanceId;
      const bake = ctx.config.bake;
      return [
        ...(bake.stopBeforeImage
          ? [async () => check('ec2:StopInstances', id, await dryRunStop(ec2, id))]
          : []),
        async () =>
          check(
            'ec2:CreateImage',
            id,
            await dryRunCreateImage(ec2, {
              instanceId: id,
              name: amiName({ prefix: bake.amiNamePrefix, sourceImageId: image.sourceImageId, commit, now }),
              description: `asg-rolling run ${runId} from ${image.sourceImageId}`,
              tags: amiTags({ image, runId, commit, actionVersion: ctx.actionVersion, extra: bake.amiTags }),
              noReboot: !bake.stopBeforeImage,
            }),
          ),
        ...(ctx.config.keepInstances
          ? []
          : [async () => check('ec2:TerminateInstances', id, await dryRunTerminate(ec2, id))]),
      ];
    }),
  ];
  // A few at a time: the checks are mutating calls for EC2's rate limits, DryRun or not.
  const { results, failures } = await runAll(requests, {
    limit: 4,
    key: () => '',
    task: (request) => request(),
  });
  if (failures[0]) throw failures[0].error;
  const notCheckable = (action: string, detail: string): PermissionCheck => ({
    action,
    target: '',
    outcome: 'not checkable',
    detail,
  });
  return [
    ...results.map((result) => result.value),
    ...targets.afterLaunch.map((action) =>
      notCheckable(action, 'acts on the temporary instance, which does not exist before the launch'),
    ),
    ...targets.autoScaling.map((action) => notCheckable(action, 'Auto Scaling has no DryRun')),
  ];
}

/** The plan of a deploy, setup or finalize, with the checks made. */
export function describePipelinePlan(
  plan: DeployPlan,
  options: {
    readonly mode: PipelineMode;
    readonly ctx: Pick<PipelineContext, 'config'>;
    readonly checks: readonly PermissionCheck[];
    readonly reused?: ReadonlyMap<string, ReusedImage>;
  },
): RunPlan {
  const { config } = options.ctx;
  const reused = options.reused ?? new Map<string, ReusedImage>();
  const bakes = options.mode !== 'setup';
  const how = (image: PlannedImage): string => {
    const reuse = reused.get(image.sourceImageId);
    if (reuse) return `reuse ${reuse.imageId} (baked by run ${reuse.runId})`;
    if (options.mode === 'finalize') return 'bake from the instance setup prepared';
    const subnets = image.subnetIds.length > 0 ? ` in ${image.subnetIds.join(' or ')}` : '';
    return `${bakes ? 'bake' : 'launch'} from ${image.launchTemplateId} version ${image.version}${subnets}`;
  };
  const images: PlanImage[] = plan.images.map((image) => ({
    sourceImageId: image.sourceImageId,
    groups: image.groups.map((g) => g.name),
    how: how(image),
  }));
  const groups: PlanGroup[] = plan.images.flatMap((image) =>
    image.groups.map((g) => ({
      group: g.name,
      launchTemplateId: g.launchTemplateId,
      launchTemplateName: g.launchTemplateName,
      version: g.version,
      versionRef: g.versionRef,
      sourceImageId: image.sourceImageId,
      newVersion: bakes
        ? `new version of ${g.launchTemplateId} from version ${g.version}`
        : 'none (setup only)',
    })),
  );
  return {
    command: config.command,
    dryRun: config.dryRun,
    groups,
    images,
    notDeployable: plan.failures,
    refreshPreferences: bakes
      ? refreshPreferences(config.roll, { autoRollback: config.roll.autoRollback })
      : {},
    checks: options.checks,
  };
}
