/**
 * Pure planning: from the described groups and their launch template versions to what the run will
 * build. Groups whose versions boot the same image share one temporary instance and one AMI; a group
 * that cannot be planned fails alone, with a reason, and the others go on.
 */
import type { AutoScalingGroup, MixedInstancesPolicy } from '@aws-sdk/client-auto-scaling';
import { groupTemplateSpec } from '../aws/group-update.js';
import {
  resolveVersionNumber,
  versionPointers,
  type DescribedVersion,
  type VersionRequest,
} from '../aws/launch-templates.js';
import type { SetupResult, TemporaryInstance } from '../config/hand-off.js';
import { launchSettingsOf, type LaunchSettings } from './launch-settings.js';

/** How a group names its launch template version; it decides what happens after the refresh. */
export type VersionRef = 'number' | '$Latest' | '$Default';

export interface PlannedGroup {
  readonly name: string;
  readonly launchTemplateId: string;
  readonly launchTemplateName: string;
  /** The numeric version the group's reference resolves to today. */
  readonly version: number;
  readonly versionRef: VersionRef;
  /**
   * Set when the template comes from a MixedInstancesPolicy, kept whole so the refresh can swap
   * only the template spec and keep the rest.
   */
  readonly mixedInstancesPolicy: MixedInstancesPolicy | undefined;
  readonly sourceImageId: string;
  /** The `resolve:ssm:` reference the group's version names, when its image comes from a parameter. */
  readonly imageAlias?: string;
  /** The VersionDescription of that version: whether it is one of ours (rollback needs to know). */
  readonly versionDescription: string;
}

/** An AMI of ours that already holds what an image's pipeline would bake (phases/reuse.ts). */
export interface ReusedImage {
  readonly imageId: string;
  /** The run that baked it (its RunId tag). */
  readonly runId: string;
}

export interface PlannedImage {
  readonly sourceImageId: string;
  /** The temporary instance launches from the first group's template version. */
  readonly launchTemplateId: string;
  readonly version: number;
  /**
   * The launching group's VPCZoneIdentifier subnets, in order, tried one after the other when a
   * subnet has no capacity or no longer exists; empty when the template pins an existing interface.
   */
  readonly subnetIds: readonly string[];
  /**
   * The launching version names its image by a Systems Manager parameter, which AWS reads again at
   * launch: the launch then names the resolved AMI itself, so it boots what the plan saw. Otherwise
   * the launch leaves the image to the template, as the least-privilege policy expects
   * (`ec2:IsLaunchTemplateResource`).
   */
  readonly pinsImage?: boolean;
  /** Set when the template names no type: what the group's MixedInstancesPolicy launches first. */
  readonly instanceType?: string | undefined;
  /** The template's interfaces, sent again with the subnet on the primary one. */
  readonly networkInterfaces?: LaunchSettings['networkInterfaces'];
  readonly groups: readonly PlannedGroup[];
}

export interface GroupProblem {
  readonly group: string;
  readonly error: string;
}

export interface DeployPlan {
  readonly images: readonly PlannedImage[];
  /** Groups that fail before anything is created. */
  readonly failures: readonly GroupProblem[];
  /** Things the user should know that do not fail a group. */
  readonly warnings: readonly GroupProblem[];
}

/** The template a group uses and how it names the version, as the group describes it. */
export interface TemplateRef {
  /** Identifies the template among the version requests: its id, else `name:<name>`. */
  readonly key: string;
  readonly launchTemplateId: string | undefined;
  readonly launchTemplateName: string | undefined;
  /** As written on the group; AWS's default is `$Default`. */
  readonly version: string;
}

/** Reads the launch template reference of a group, or why it has none we can use. */
export function templateRefOf(group: AutoScalingGroup): TemplateRef | { readonly error: string } {
  const spec = groupTemplateSpec(group);
  if (!spec) {
    if (group.LaunchConfigurationName) {
      return {
        error: `uses launch configuration ${group.LaunchConfigurationName}; launch configurations are not supported, migrate the group to a launch template`,
      };
    }
    return { error: 'has no launch template' };
  }
  const id = spec.LaunchTemplateId || undefined;
  const name = spec.LaunchTemplateName || undefined;
  if (!id && !name) return { error: 'has a launch template without id or name' };
  return {
    key: id ?? `name:${name}`,
    launchTemplateId: id,
    launchTemplateName: name,
    version: spec.Version || '$Default',
  };
}

/** Groups the needed versions by template, so each template costs one Describe call. */
export function versionRequests(groups: readonly AutoScalingGroup[]): VersionRequest[] {
  const byKey = new Map<string, { ref: TemplateRef; versions: Set<string> }>();
  for (const group of groups) {
    const ref = templateRefOf(group);
    if ('error' in ref) continue;
    const entry = byKey.get(ref.key) ?? { ref, versions: new Set<string>() };
    entry.versions.add(ref.version);
    byKey.set(ref.key, entry);
  }
  return [...byKey.values()].map(({ ref, versions }) => ({
    key: ref.key,
    launchTemplateId: ref.launchTemplateId,
    launchTemplateName: ref.launchTemplateName,
    versions: [...versions].sort(),
  }));
}

function versionRefOf(version: string): VersionRef {
  return version === '$Latest' || version === '$Default' ? version : 'number';
}

export interface PlanInput {
  readonly groups: readonly AutoScalingGroup[];
  /** Keyed by VersionRequest.key: the versions found, or why they could not be read. */
  readonly templates: ReadonlyMap<string, readonly DescribedVersion[] | { readonly error: string }>;
}

/** Builds the plan: one image per distinct source ImageId, every group under the image it boots today. */
export function buildPlan(input: PlanInput): DeployPlan {
  const failures: GroupProblem[] = [];
  const warnings: GroupProblem[] = [];
  /** Per image: the first group whose version can launch it, and every group it serves. */
  const images = new Map<
    string,
    {
      launch?: { version: DescribedVersion; settings: LaunchSettings };
      groups: { planned: PlannedGroup; problem?: string }[];
    }
  >();
  for (const group of input.groups) {
    const name = group.AutoScalingGroupName ?? '';
    const ref = templateRefOf(group);
    if ('error' in ref) {
      failures.push({ group: name, error: ref.error });
      continue;
    }
    const versions = input.templates.get(ref.key);
    if (!versions) {
      failures.push({ group: name, error: `launch template ${ref.key} was not described` });
      continue;
    }
    if ('error' in versions) {
      failures.push({ group: name, error: versions.error });
      continue;
    }
    const number = resolveVersionNumber(ref.version, versionPointers(versions));
    const resolved = versions.find((v) => v.VersionNumber === number);
    const label = ref.launchTemplateId ?? ref.launchTemplateName;
    if (!resolved || resolved.VersionNumber === undefined || !resolved.LaunchTemplateId) {
      failures.push({ group: name, error: `launch template ${label} has no version ${ref.version}` });
      continue;
    }
    const imageId = resolved.LaunchTemplateData?.ImageId;
    if (!imageId || !imageId.startsWith('ami-')) {
      failures.push({
        group: name,
        error: `launch template ${label} version ${resolved.VersionNumber} has no AMI id (${imageId ?? 'none'})`,
      });
      continue;
    }
    const overrides = group.MixedInstancesPolicy?.LaunchTemplate?.Overrides ?? [];
    if (overrides.some((o) => o.LaunchTemplateSpecification)) {
      warnings.push({
        group: name,
        error:
          'instance type overrides with their own launch template keep their image; only the main template is updated',
      });
    }
    const planned: PlannedGroup = {
      name,
      launchTemplateId: resolved.LaunchTemplateId,
      launchTemplateName: resolved.LaunchTemplateName ?? ref.launchTemplateName ?? '',
      version: resolved.VersionNumber,
      versionRef: versionRefOf(ref.version),
      mixedInstancesPolicy: group.LaunchTemplate ? undefined : group.MixedInstancesPolicy,
      sourceImageId: imageId,
      ...(resolved.imageAlias ? { imageAlias: resolved.imageAlias } : {}),
      versionDescription: resolved.VersionDescription ?? '',
    };
    const entry = images.get(imageId) ?? { groups: [] };
    const settings = launchSettingsOf(group, resolved);
    if ('error' in settings) entry.groups.push({ planned, problem: settings.error });
    else {
      entry.groups.push({ planned });
      entry.launch ??= { version: resolved, settings };
    }
    images.set(imageId, entry);
  }
  const planned: PlannedImage[] = [];
  for (const [sourceImageId, { launch, groups }] of images) {
    // A group that cannot launch the image itself still gets it when another group can.
    if (!launch) {
      for (const g of groups) failures.push({ group: g.planned.name, error: g.problem ?? '' });
      continue;
    }
    planned.push({
      sourceImageId,
      launchTemplateId: launch.version.LaunchTemplateId ?? '',
      version: launch.version.VersionNumber ?? 0,
      subnetIds: launch.settings.subnetIds,
      ...(launch.version.imageAlias ? { pinsImage: true } : {}),
      instanceType: launch.settings.instanceType,
      networkInterfaces: launch.settings.networkInterfaces,
      groups: groups.map((g) => g.planned),
    });
  }
  return { images: planned, failures, warnings };
}

/** The plan as a table for the log, printed before anything is created. */
export function formatPlan(plan: DeployPlan, reused: ReadonlyMap<string, ReusedImage> = new Map()): string {
  const groupCount = plan.images.reduce((n, image) => n + image.groups.length, 0);
  const rows: string[][] = [['Group', 'Source image', 'Launch template', 'Version', 'Refers as', 'Mixed']];
  for (const image of plan.images) {
    for (const group of image.groups) {
      rows.push([
        group.name,
        image.sourceImageId,
        group.launchTemplateName
          ? `${group.launchTemplateId} (${group.launchTemplateName})`
          : group.launchTemplateId,
        String(group.version),
        group.versionRef,
        group.mixedInstancesPolicy ? 'yes' : 'no',
      ]);
    }
  }
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
  const render = (row: string[]): string =>
    row
      .map((cell, col) => cell.padEnd(widths[col] ?? 0))
      .join('  ')
      .trimEnd();
  const baked = plan.images.filter((image) => !reused.has(image.sourceImageId)).length;
  const lines = [
    `Plan: ${groupCount} group(s), ${baked} temporary instance(s) and AMI(s)` +
      (reused.size > 0 ? `, ${plan.images.length - baked} AMI(s) reused` : ''),
    ...rows.map(render),
  ];
  for (const image of plan.images) {
    const reuse = reused.get(image.sourceImageId);
    if (reuse) {
      lines.push(`${image.sourceImageId}: reused ${reuse.imageId} (baked by run ${reuse.runId})`);
      continue;
    }
    lines.push(
      `${image.sourceImageId}: launch from ${image.launchTemplateId} version ${image.version}` +
        (image.instanceType ? ` as ${image.instanceType}` : '') +
        (image.subnetIds.length > 0 ? ` in ${image.subnetIds.join(' or ')}` : ''),
    );
  }
  for (const failure of plan.failures) lines.push(`Not deployable: ${failure.group} ${failure.error}`);
  for (const warning of plan.warnings) lines.push(`Note: ${warning.group} ${warning.error}`);
  return lines.join('\n');
}

/**
 * Narrows a fresh plan to what an earlier `setup` prepared: an image goes on only with setup's
 * instance of it; a group whose template now boots another image than at setup fails, since its AMI
 * would be baked from the wrong base.
 */
export function planForSetup(
  plan: DeployPlan,
  setup: Pick<SetupResult, 'images'>,
): { plan: DeployPlan; instances: Map<string, TemporaryInstance> } {
  const instances = new Map<string, TemporaryInstance>();
  const failures: GroupProblem[] = [...plan.failures];
  const images: PlannedImage[] = [];
  for (const image of plan.images) {
    const prepared = setup.images.find((i) => i.sourceImageId === image.sourceImageId);
    if (prepared) {
      instances.set(image.sourceImageId, prepared);
      images.push(image);
      continue;
    }
    for (const group of image.groups) {
      const before = setup.images.find((i) => i.groups.includes(group.name));
      failures.push({
        group: group.name,
        error: before
          ? `its launch template now boots ${image.sourceImageId}, but setup prepared an instance of ${before.sourceImageId}`
          : `the setup step prepared no instance of ${image.sourceImageId}`,
      });
    }
  }
  return { plan: { images, failures, warnings: plan.warnings }, instances };
}
