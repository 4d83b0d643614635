/**
 * The shapes cleanup works with: what the caller asks for, and the plain-data inventory the pure
 * policy decides on (so the policy can be table-tested without AWS). What it gets back is in
 * report/records.ts, since the summary and the outputs render it.
 */
import type {
  ImageInfo,
  InstanceInfo,
  LaunchConfigurationInfo,
  SnapshotInfo,
  TemplateInfo,
  VersionInfo,
  VolumeInfo,
} from '../aws/resources.js';
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

/** A use of a launch template version by a group, a mixed-instances override or a group's instance. */
export interface GroupReference {
  group: string;
  templateId: string;
  /** A number, `$Latest` or `$Default`, as the group wrote it. */
  version: string;
  /**
   * How the group uses it, for the report: `LaunchTemplate`, `MixedInstancesPolicy`, `instance i-…`
   * or `warm pool instance i-…`.
   */
  via: string;
}

/** Whether the use is by one instance (in the group or its warm pool), not the group's own setting. */
export function isInstanceUse(ref: Pick<GroupReference, 'via'>): boolean {
  return ref.via.startsWith('instance ') || ref.via.startsWith('warm pool instance ');
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
  /**
   * Uses of launch templates by ALL groups in the account, not only the selected ones, their
   * instances and the instances in their warm pools.
   */
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
  /** Our AMIs in scope that others may launch: image id → who (`public`, `account 1111…`). */
  sharing: Readonly<Record<string, string[]>>;
  /** Our temporary instances' volumes in state `available`. */
  volumes: VolumeInfo[];
}
