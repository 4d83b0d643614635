/**
 * Plain data read from AWS: the describes of describe-all.ts turn SDK shapes into these, so the
 * cleanup policy decides on values it can be table-tested with.
 */

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
  /**
   * The AMI the version launches: its ImageId, or for `resolve:ssm:` the AMI the parameter maps to
   * now (as DescribeLaunchTemplateVersions with ResolveAlias says); undefined when it sets none.
   */
  imageId: string | undefined;
  description: string;
  /** CreateTime in milliseconds since the epoch (0 when unknown). */
  createdAt: number;
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
  /** Anyone may launch it (DescribeImages' Public). */
  public: boolean;
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

/** One of our EBS volumes (tagged at launch like its temporary instance). */
export interface VolumeInfo {
  id: string;
  /** available, in-use, creating… */
  state: string;
  /** CreateTime in milliseconds since the epoch (0 when unknown). */
  createdAt: number;
  tags: Readonly<Record<string, string>>;
}

/** An instance waiting in a group's warm pool, with the template version it was launched from. */
export interface WarmPoolInstance {
  group: string;
  instanceId: string;
  launchTemplateId: string | undefined;
  launchTemplateName: string | undefined;
  /** As Auto Scaling reports it: a version number. */
  version: string | undefined;
}
