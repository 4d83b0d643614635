/**
 * The shape of the validated configuration: one typed, frozen object that every other module
 * receives instead of reading inputs. Built by readConfig (index.ts) from the fields (fields.ts).
 */
import type { SetupResult } from './hand-off.js';

export type Command = 'deploy' | 'setup' | 'finalize' | 'refresh' | 'cleanup' | 'wait-idle' | 'rollback';

/** What `rollback` returns each group to (`rollback-to`). */
export type RollbackTarget =
  | { readonly kind: 'previous' }
  /** Lower case; may be a prefix of the full SHA. */
  | { readonly kind: 'commit'; readonly commit: string }
  | { readonly kind: 'image'; readonly imageId: string };
export type SshAddress = 'private' | 'public';
export type HostKeyChecking = 'accept-new' | 'strict' | 'off';
export type OnRefreshInProgress = 'wait' | 'cancel' | 'fail';
export type ScaleInProtectedInstances = 'Refresh' | 'Ignore' | 'Wait';
export type StandbyInstances = 'Terminate' | 'Ignore' | 'Wait';

export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** Which groups the run acts on. At least one of the two is non-empty. */
export interface Selection {
  readonly names: readonly string[];
  /** All must match. */
  readonly tags: readonly Tag[];
}

export interface SshConfig {
  /** Empty when no SSH is needed (setup without a key, refresh, cleanup). */
  readonly user: string;
  /** The private key text; masked as soon as it is read. Empty when not given. */
  readonly privateKey: string;
  readonly port: number;
  readonly address: SshAddress;
  readonly timeoutSeconds: number;
  readonly hostKeyChecking: HostKeyChecking;
  /**
   * known_hosts lines (comments kept), already checked line by line: createHostKeyVerifier parses
   * them without fail. Required by 'strict'; with 'accept-new', the hosts they name are held to them.
   */
  readonly knownHosts: readonly string[];
}

export interface DeployConfig {
  /** Local paths to upload, relative to the workspace. */
  readonly upload: readonly string[];
  /** Remote directory; relative to the SSH user's home unless absolute. */
  readonly uploadDir: string;
  /** Local script path, or '' for none. */
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
}

export interface BakeConfig {
  readonly stopBeforeImage: boolean;
  readonly amiNamePrefix: string;
  readonly amiTags: readonly Tag[];
  readonly timeoutSeconds: number;
  /** Reuse an available AMI of ours with the same bake key instead of baking again (`deploy` only). */
  readonly reuseImage: boolean;
}

export interface RollConfig {
  readonly minHealthyPercentage: number;
  readonly maxHealthyPercentage: number;
  /** undefined: the group's own default. */
  readonly instanceWarmup: number | undefined;
  readonly skipMatching: boolean;
  readonly checkpointPercentages: readonly number[];
  readonly checkpointDelay: number | undefined;
  readonly autoRollback: boolean;
  readonly alarms: readonly string[];
  readonly bakeTime: number | undefined;
  readonly scaleInProtectedInstances: ScaleInProtectedInstances;
  readonly standbyInstances: StandbyInstances;
  readonly waitForRefresh: boolean;
  readonly timeoutSeconds: number;
  readonly onRefreshInProgress: OnRefreshInProgress;
}

export interface CleanupConfig {
  readonly keep: number;
  readonly orphanAgeMinutes: number;
  readonly dryRun: boolean;
}

/** Where and whether the run leaves a deployment record on GitHub (the Environments page). */
export interface GithubDeploymentConfig {
  readonly enabled: boolean;
  /** Masked as soon as it is read. */
  readonly token: string;
  /** The environment the deployment is for; set whenever `enabled`. */
  readonly environment: string;
  /** GITHUB_API_URL (GitHub Enterprise Server has its own), else https://api.github.com. */
  readonly apiUrl: string;
  /** GITHUB_REPOSITORY's owner and name; set whenever `enabled`. */
  readonly owner: string;
  readonly repo: string;
}

/** Facts about the run taken from the runner's environment, not from inputs. */
export interface RunContext {
  /** Unique per workflow run attempt: `${GITHUB_RUN_ID}-${GITHUB_RUN_ATTEMPT}`, or a local random id. */
  readonly runId: string;
  /** GITHUB_SHA, or '' outside Actions. */
  readonly commit: string;
  /** GITHUB_WORKSPACE, or the current directory. */
  readonly workspace: string;
  /** `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`, or ''. */
  readonly runUrl: string;
  /**
   * Multiplies every poll interval (ASG_ROLLING_POLL_SCALE, 0.001 to 1, default 1). For simulators
   * (the tests, benchmark and demo), whose time runs many times faster than AWS's; users have no
   * reason to set it (docs/architecture.md).
   */
  readonly pollScale: number;
}

export interface Config {
  readonly command: Command;
  readonly selection: Selection;
  readonly maxParallel: number;
  /** undefined: the SDK's default chain. For `finalize`, the region of the `setup` step unless given. */
  readonly region: string | undefined;
  readonly ssh: SshConfig;
  readonly deploy: DeployConfig;
  readonly keepInstances: boolean;
  readonly bake: BakeConfig;
  readonly roll: RollConfig;
  readonly cleanup: CleanupConfig;
  readonly rollbackTo: RollbackTarget;
  /** Print the plan and check permissions with EC2's DryRun; create and change nothing. */
  readonly dryRun: boolean;
  /** Before a real run launches anything, check permissions as a dry run does and stop on a refusal. */
  readonly preflight: boolean;
  readonly github: GithubDeploymentConfig;
  readonly run: RunContext;
  /** The `setup` step's result found in the environment: always set for `finalize`, else if present. */
  readonly setupResult: Readonly<SetupResult> | undefined;
}

/** Reads one input by name; the action passes core.getInput, tests pass a plain map. */
export type InputReader = (name: string) => string;
