/**
 * What a run records as it goes, for the outputs and the job summary: how each refresh ended and
 * what cleanup deleted or kept. The phases and cleanup fill these in; report/ renders them.
 */

/** How a refresh ended (or stood, when we did not wait). */
export interface RefreshRecord {
  readonly group: string;
  readonly instanceRefreshId: string;
  readonly status: string;
  readonly statusReason: string;
  readonly seconds: number;
}

export type CleanedKind = 'launch-template-version' | 'ami' | 'snapshot' | 'instance' | 'volume';

export interface CleanedItem {
  kind: CleanedKind;
  /** `ami-…`, `snap-…`, `i-…`, `vol-…`, or `lt-…:7` for a launch template version. */
  id: string;
  reason: string;
  /** true: it would have been deleted, but the run was a dry run. */
  dryRun: boolean;
}

export interface KeptItem {
  kind: 'launch-template-version' | 'ami' | 'snapshot' | 'volume';
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
