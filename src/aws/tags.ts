/**
 * Our vocabulary on AWS resources: the tags we put on everything we create and the descriptions of
 * the launch template versions we make (versions carry no tags). Cleanup only ever touches what
 * carries `Managed` (and, for versions, one of our exact descriptions), so a user's own AMIs and
 * templates are safe by construction. Launch and bake build their tags here, from one list.
 */
import type { Tag as Ec2Tag } from '@aws-sdk/client-ec2';
import { ActionName } from '../lib/constants.js';

export const Tags = {
  Managed: 'asg-rolling:managed',
  /** `temporary-instance` or `ami`: what the resource is to us. */
  Role: 'asg-rolling:role',
  RunId: 'asg-rolling:run-id',
  /** Comma-separated group names the resource was made for. */
  Groups: 'asg-rolling:groups',
  /** Comma-separated launch template ids whose new versions use this AMI (cleanup keeps per template). */
  LaunchTemplates: 'asg-rolling:launch-templates',
  SourceImage: 'asg-rolling:source-image',
  Commit: 'asg-rolling:commit',
  /** The action's version that made it. */
  Version: 'asg-rolling:version',
  /** ISO time of creation, so orphaned temporary instances can be aged without trusting LaunchTime alone. */
  CreatedAt: 'asg-rolling:created-at',
  /**
   * Random per main step (the run id is shared by every job of a workflow run): the post step finds
   * this step's temporary instances by it even when a launch was cut off before its id came back.
   */
  LaunchToken: 'asg-rolling:launch-token',
  /**
   * On AMIs: the digest of everything that went into the bake (phases/bake-key.ts), so a later run
   * with the same inputs reuses the image instead of baking it again.
   */
  BakeKey: 'asg-rolling:bake-key',
} as const;

export const Roles = {
  TemporaryInstance: 'temporary-instance',
  Ami: 'ami',
} as const;

/** Prefix of the VersionDescription of launch template versions we create: how cleanup knows them. */
export const VersionDescriptionPrefix = ActionName;

/**
 * The VersionDescription of a launch template version we create. Cleanup deletes only versions whose
 * description has exactly one of our forms, so a user's own `asg-rolling-manual` version is never ours.
 */
export function versionDescription(runId: string, commit: string): string {
  return `${VersionDescriptionPrefix} run ${runId} commit ${commit || 'none'}`;
}

/** The VersionDescription of a version that puts back the old image after a failed `$Latest` roll. */
export function revertVersionDescription(runId: string): string {
  return `${VersionDescriptionPrefix} run ${runId} revert`;
}

/**
 * The VersionDescription of a version `rollback` made: it names the image the group ran before, so a
 * second `rollback-to: previous` returns to it (our versions carry no tags).
 */
export function rollbackVersionDescription(runId: string, fromImageId: string): string {
  return `${VersionDescriptionPrefix} run ${runId} rollback from ${fromImageId}`;
}

/** The image a rollback version says the group ran before it, or undefined for any other description. */
export function rolledBackFrom(description: string): string | undefined {
  return new RegExp(`^${VersionDescriptionPrefix} run \\S+ rollback from (ami-\\w+)$`).exec(description)?.[1];
}

/** Whether a VersionDescription is one of the forms above (deploy, revert, rollback). */
export function isOurVersionDescription(description: string): boolean {
  return new RegExp(
    `^${VersionDescriptionPrefix} run \\S+ (commit \\S+|revert|rollback from ami-\\w+)$`,
  ).test(description);
}

/** The run id a description of ours names (`asg-rolling run <id> …`), or undefined for any other. */
export function versionRunId(description: string): string | undefined {
  if (!isOurVersionDescription(description)) return undefined;
  return description.split(' ')[2];
}

/**
 * Ends a comma-separated tag value (Groups, LaunchTemplates) that was cut at AWS's 256-character
 * limit, so a reader knows the list is incomplete.
 */
export const TruncatedTagMarker = '...';

/** AWS caps tag values at 256 characters. */
const TagValueMax = 256;

/**
 * Joins names into one tag value; past AWS's limit it is cut at a comma and ends with the truncation
 * marker, so cleanup knows the list is incomplete.
 */
export function joinTagValue(values: readonly string[]): string {
  const joined = [...new Set(values)].join(',');
  if (joined.length <= TagValueMax) return joined;
  const cut = joined.slice(0, TagValueMax - TruncatedTagMarker.length);
  return `${cut.slice(0, Math.max(0, cut.lastIndexOf(',') + 1))}${TruncatedTagMarker}`;
}

/** What every resource we make for an image says about itself. */
export interface OwnTagOptions {
  readonly role: (typeof Roles)[keyof typeof Roles];
  readonly runId: string;
  readonly commit: string;
  readonly actionVersion: string;
  readonly sourceImageId: string;
  readonly groups: readonly { readonly name: string; readonly launchTemplateId: string }[];
}

/** The tags shared by a temporary instance and the AMI baked from it. */
export function ownTags(options: OwnTagOptions): Ec2Tag[] {
  return [
    { Key: Tags.Managed, Value: 'true' },
    { Key: Tags.Role, Value: options.role },
    { Key: Tags.RunId, Value: options.runId },
    { Key: Tags.Groups, Value: joinTagValue(options.groups.map((g) => g.name)) },
    { Key: Tags.LaunchTemplates, Value: joinTagValue(options.groups.map((g) => g.launchTemplateId)) },
    { Key: Tags.SourceImage, Value: options.sourceImageId },
    { Key: Tags.Commit, Value: options.commit },
    { Key: Tags.Version, Value: options.actionVersion },
  ];
}
