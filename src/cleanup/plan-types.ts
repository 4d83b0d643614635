/** The shapes of a cleanup decision: what the policy is asked, and the plan it answers with. */
import type { KeptItem } from '../report/records.js';

export interface PolicyOptions {
  keep: number;
  orphanAgeMinutes: number;
  runId: string;
  /** Milliseconds since the epoch, for the age of orphans and of everything else. */
  now: number;
}

export interface VersionDeletion {
  /** `lt-…:7` */
  id: string;
  templateId: string;
  version: number;
  /** The image the version launches, so the image stays when a group turns out to use the version. */
  imageId?: string;
  reason: string;
}

export interface ImageDeregistration {
  id: string;
  reason: string;
  /**
   * Ids of the versions being deleted that still use this image: if any of them could not be
   * deleted, the image is still in use and must stay.
   */
  requires: string[];
}

export interface SnapshotDeletion {
  id: string;
  reason: string;
  /** The images (all being deregistered) that use the snapshot; each must be gone first. */
  requires: string[];
}

export interface InstanceTermination {
  id: string;
  reason: string;
}

export interface VolumeDeletion {
  id: string;
  reason: string;
}

/** What to delete, in the order it must go, and what stays with its reasons. */
export interface CleanupPlan {
  versions: VersionDeletion[];
  images: ImageDeregistration[];
  snapshots: SnapshotDeletion[];
  instances: InstanceTermination[];
  volumes: VolumeDeletion[];
  kept: KeptItem[];
}
