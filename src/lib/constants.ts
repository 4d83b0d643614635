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
  RollbackTo = 'rollback-to',
  ReuseImage = 'reuse-image',
  Preflight = 'preflight',
  GithubDeployment = 'github-deployment',
  GithubToken = 'github-token',
  GithubEnvironment = 'github-environment',
}

/** Output names, exactly as in action.yml. */
export enum Outputs {
  Instances = 'instances',
  Amis = 'amis',
  LaunchTemplateVersions = 'launch-template-versions',
  InstanceRefreshes = 'instance-refreshes',
  Cleaned = 'cleaned',
  Plan = 'plan',
}

/** Keys of what the main step hands to the post step (core.saveState / core.getState). */
export enum State {
  /** JSON array of temporary instance ids the post step must terminate. */
  TemporaryInstances = 'temporary-instances',
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

export const ActionName = 'asg-rolling';
