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
  /** undefined when the version sets no image (or an SSM parameter stands in for it). */
  imageId: string | undefined;
  description: string;
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
