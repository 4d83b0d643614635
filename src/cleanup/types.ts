/**
 * The shapes cleanup works with: what the caller asks for, what it gets back, and the plain-data
 * inventory the pure policy decides on (so the policy can be table-tested without AWS).
 */
import type { Selection } from '../config/index.js';

export interface CleanupOptions {
  /** The groups whose launch templates (and our AMIs for them) are in scope. */
  selection: Selection;
  /** How many of our newest versions and AMIs to keep per launch template, besides anything in use. */
  keep: number;
  /** Temporary instances of other runs older than this are orphans. */
  orphanAgeMinutes: number;
  /** Report what would go, change nothing. */
  dryRun: boolean;
  /** This run's id: its own temporary instances and AMIs are never touched. */
  runId: string;
}

export type CleanedKind = 'launch-template-version' | 'ami' | 'snapshot' | 'instance';

export interface CleanedItem {
  kind: CleanedKind;
  /** `ami-…`, `snap-…`, `i-…`, or `lt-…:7` for a launch template version. */
  id: string;
  reason: string;
  /** true: it would have been deleted, but the run was a dry run. */
  dryRun: boolean;
}

export interface KeptItem {
  kind: 'launch-template-version' | 'ami';
  id: string;
  /** Why it stays, naming what uses it (group, version, instance) when it is in use. */
  reason: string;
}

export interface CleanupFailure {
  id: string;
  kind: string;
  error: string;
}

export interface CleanupReport {
  deleted: CleanedItem[];
  kept: KeptItem[];
  failures: CleanupFailure[];
}

/** A launch template as cleanup needs it. */
export interface TemplateInfo {
  id: string;
  name: string;
  defaultVersion: number;
  latestVersion: number;
}

/** One launch template version. */
export interface VersionInfo {
  templateId: string;
  version: number;
  /** undefined when the version sets no image (or an SSM parameter stands in for it). */
  imageId: string | undefined;
  description: string;
}

/** A use of a launch template version by a group, a mixed-instances override or a group's instance. */
export interface GroupReference {
  group: string;
  templateId: string;
  /** A number, `$Latest` or `$Default`, as the group wrote it. */
  version: string;
  /** How the group uses it, for the report: `LaunchTemplate`, `MixedInstancesPolicy`, `instance i-…`. */
  via: string;
}

export interface ImageInfo {
  id: string;
  /** pending, available, failed… */
  state: string;
  /** CreationDate in milliseconds since the epoch (0 when unknown). */
  createdAt: number;
  tags: Readonly<Record<string, string>>;
  /** EBS snapshots behind the image's block device mappings. */
  snapshotIds: string[];
  /** DescribeImages' DeregistrationProtection, '' when absent. */
  deregistrationProtection: string;
}

export interface InstanceInfo {
  id: string;
  imageId: string | undefined;
  state: string;
  /** LaunchTime in milliseconds since the epoch (0 when unknown). */
  launchedAt: number;
  tags: Readonly<Record<string, string>>;
}

/** One of our EBS snapshots (tagged by CreateImage), whatever became of its image. */
export interface SnapshotInfo {
  id: string;
  /** pending, completed, error… */
  state: string;
  /** StartTime in milliseconds since the epoch (0 when unknown). */
  startedAt: number;
  tags: Readonly<Record<string, string>>;
  /** `Created by CreateImage(i-…) for ami-…`: names the image it was made for. */
  description: string;
}

/** A launch configuration some group uses, with the image it launches. */
export interface LaunchConfigurationInfo {
  name: string;
  imageId: string | undefined;
  /** The groups that use it. */
  groups: string[];
}

/** Everything the policy needs, read from AWS in a few batched, paginated calls. */
export interface Inventory {
  /** Names of the selected groups. */
  selectedGroups: string[];
  /** Ids of the launch templates the selected groups use. */
  scopedTemplateIds: string[];
  /** The images the selected groups' own launch template settings resolve to now. */
  selectedImages: string[];
  /** Every launch template in the account and region. */
  templates: TemplateInfo[];
  /**
   * Every version of the scoped templates, and of every other template whenever any of our AMIs is
   * a candidate for deregistration (so no version anywhere loses its image).
   */
  versions: VersionInfo[];
  /** Uses of launch templates by ALL groups in the account, not only the selected ones. */
  references: GroupReference[];
  /** All our AMIs (Managed tag, owned by this account). */
  images: ImageInfo[];
  /** Instances in any state but terminated that run one of our AMIs. */
  instances: InstanceInfo[];
  /** Our temporary instances in any state but terminated. */
  temporaryInstances: InstanceInfo[];
  /**
   * For each snapshot of our AMIs in scope, and each of our in-scope snapshots that no AMI of ours
   * maps: every image of this account whose mappings use it.
   */
  snapshotUsers: Readonly<Record<string, string[]>>;
  /** Our snapshots (Managed and Role `ami` tags), to find those whose AMI is gone. */
  snapshots: SnapshotInfo[];
  /** The launch configurations of every group that uses one, read when an AMI could go. */
  launchConfigurations: LaunchConfigurationInfo[];
}
