/** Every name the action shares with GitHub or AWS, spelled once. */

/** Input names, exactly as in action.yml. */
export enum Inputs {
  Command = 'command',
  AsgNames = 'asg-names',
  AsgTags = 'asg-tags',
  MaxParallel = 'max-parallel',
  AwsRegion = 'aws-region',
  SshUser = 'ssh-user',
  SshPrivateKey = 'ssh-private-key',
  SshPort = 'ssh-port',
  SshAddress = 'ssh-address',
  SshTimeout = 'ssh-timeout',
  SshHostKeyChecking = 'ssh-host-key-checking',
  SshKnownHosts = 'ssh-known-hosts',
  Upload = 'upload',
  UploadDir = 'upload-dir',
  DeployScript = 'deploy-script',
  DeployEnv = 'deploy-env',
  DeployTimeout = 'deploy-timeout',
  KeepInstances = 'keep-instances',
  StopBeforeImage = 'stop-before-image',
  AmiNamePrefix = 'ami-name-prefix',
  AmiTags = 'ami-tags',
  AmiTimeout = 'ami-timeout',
  MinHealthyPercentage = 'min-healthy-percentage',
  MaxHealthyPercentage = 'max-healthy-percentage',
  InstanceWarmup = 'instance-warmup',
  SkipMatching = 'skip-matching',
  CheckpointPercentages = 'checkpoint-percentages',
  CheckpointDelay = 'checkpoint-delay',
  AutoRollback = 'auto-rollback',
  Alarms = 'alarms',
  BakeTime = 'bake-time',
  ScaleInProtectedInstances = 'scale-in-protected-instances',
  StandbyInstances = 'standby-instances',
  WaitForRefresh = 'wait-for-refresh',
  RefreshTimeout = 'refresh-timeout',
  OnRefreshInProgress = 'on-refresh-in-progress',
  CleanupKeep = 'cleanup-keep',
  OrphanAge = 'orphan-age',
  DryRun = 'dry-run',
}

/** Output names, exactly as in action.yml. */
export enum Outputs {
  Instances = 'instances',
  Amis = 'amis',
  LaunchTemplateVersions = 'launch-template-versions',
  InstanceRefreshes = 'instance-refreshes',
  Cleaned = 'cleaned',
}

/** Keys of what the main step hands to the post step (core.saveState / core.getState). */
export enum State {
  /** JSON array of temporary instance ids the post step must terminate. */
  TemporaryInstances = 'temporary-instances',
  /** JSON of the `setup` step's instances, read by a later `finalize` step. */
  SetupResult = 'setup-result',
  /** The AWS region the main step used, so the post step talks to the same one. */
  Region = 'region',
  /** 'true' when the user asked to keep the temporary instances. */
  KeepInstances = 'keep-instances',
  /**
   * The run's launch token while a launch may have created an instance whose id we never received
   * (RunInstances in flight or failed ambiguously); empty once every launch answered.
   */
  LaunchToken = 'launch-token',
}

/**
 * Tags we put on everything we create. Cleanup only ever touches resources that carry
 * `Managed`, so a user's own AMIs and templates are safe by construction.
 */
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
} as const;

export const Roles = {
  TemporaryInstance: 'temporary-instance',
  Ami: 'ami',
} as const;

/** Prefix of the VersionDescription of launch template versions we create: how cleanup knows them. */
export const VersionDescriptionPrefix = 'asg-rolling';

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

/** Whether a VersionDescription is one versionDescription or revertVersionDescription wrote. */
export function isOurVersionDescription(description: string): boolean {
  return new RegExp(`^${VersionDescriptionPrefix} run \\S+ (commit \\S+|revert)$`).test(description);
}

/**
 * Ends a comma-separated tag value (Groups, LaunchTemplates) that was cut at AWS's 256-character
 * limit, so a reader knows the list is incomplete.
 */
export const TruncatedTagMarker = '...';

/** Statuses after which an Instance Refresh never changes again. Only Successful is success. */
export const TerminalRefreshStatuses: ReadonlySet<string> = new Set([
  'Successful',
  'Failed',
  'Cancelled',
  'RollbackSuccessful',
  'RollbackFailed',
]);

export const ActionName = 'asg-rolling';
