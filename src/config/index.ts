/**
 * The only reader of the action's inputs. Turns them into one typed, frozen Config, validated
 * before any AWS client exists; every error names the input, the value given and what is accepted,
 * and all problems are reported together, one line each, so a user fixes them in one round.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import * as core from '@actions/core';
import { parseFields, quote, type Values } from './fields.js';
import { Inputs } from '../lib/constants.js';
import { githubChecks, githubDeployment } from './github.js';
import { readSetupResult, SetupResultVariable } from './hand-off.js';
import type { SetupResult } from './hand-off.js';
import type { Config, InputReader, RunContext } from './types.js';

export * from './types.js';

/** The environment variable behind RunContext.pollScale. */
export const PollScaleVariable = 'ASG_ROLLING_POLL_SCALE';

/** Thrown for any invalid input; the message is meant for the user as it is. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ReadConfigOptions {
  /** Masks a secret in the log; core.setSecret in the action. */
  readonly setSecret?: (secret: string) => void;
  /** Whether a local path exists (and is a file, when `file`); the real file system by default. */
  readonly pathExists?: (path: string, kind: 'file' | 'any') => boolean;
}

/**
 * The poll scale is a knob for simulators, whose time runs many times faster than AWS's: it only
 * ever makes the polls faster, and never faster than a thousandth of their pace against AWS (a
 * stray value must not turn the run into a flood of Describe calls).
 */
const PollScaleRange = { min: 0.001, max: 1 } as const;

/** Reads the poll scale; a value outside PollScaleRange is reported, not silently ignored. */
function pollScale(env: NodeJS.ProcessEnv, problems: string[]): number {
  const raw = (env[PollScaleVariable] ?? '').trim();
  if (raw === '') return 1;
  const scale = Number(raw);
  if (Number.isFinite(scale) && scale >= PollScaleRange.min && scale <= PollScaleRange.max) return scale;
  problems.push(
    `Environment variable "${PollScaleVariable}" must be a number from ${PollScaleRange.min} to ${PollScaleRange.max} ` +
      `(a simulator's time scale; unset for real AWS), got ${quote(raw)}.`,
  );
  return 1;
}

/**
 * The poll scale alone, for the post step (which reads no inputs): an invalid value counts as unset
 * there, since the post step must still clean up.
 */
export function readPollScale(env: NodeJS.ProcessEnv = process.env): number {
  return pollScale(env, []);
}

function runContext(env: NodeJS.ProcessEnv, problems: string[]): RunContext {
  const runIdEnv = env.GITHUB_RUN_ID ?? '';
  const server = env.GITHUB_SERVER_URL ?? '';
  const repository = env.GITHUB_REPOSITORY ?? '';
  return {
    runId: runIdEnv
      ? `${runIdEnv}-${env.GITHUB_RUN_ATTEMPT || '1'}`
      : `local-${randomBytes(6).toString('hex')}`,
    commit: env.GITHUB_SHA ?? '',
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
    runUrl: runIdEnv && server && repository ? `${server}/${repository}/actions/runs/${runIdEnv}` : '',
    pollScale: pollScale(env, problems),
  };
}

const defaultPathExists = (path: string, kind: 'file' | 'any'): boolean =>
  existsSync(path) && (kind === 'any' || statSync(path).isFile());

/**
 * Why a local path may not be uploaded, if it may not: everything uploaded is baked into the AMI,
 * so it must come from the workspace, and never from `.git`, whose config can hold the checkout's
 * token. Symbolic links are checked when the files are listed (ssh/local-files.ts).
 */
function outsideWorkspace(input: string, given: string, workspace: string): string | undefined {
  const inside = relative(resolve(workspace), resolve(workspace, given));
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))
    return `Input "${input}" must name paths inside the workspace ${workspace}, got ${quote(given)} (${resolve(workspace, given)}).`;
  if (inside.split(sep).includes('.git'))
    return `Input "${input}" must not name paths in .git (its config can hold the checkout's token), got ${quote(given)}.`;
  return undefined;
}

/** Checks between inputs; each runs only when the inputs it reads parsed, so messages never cascade. */
function crossChecks(
  v: Partial<Values>,
  setup: SetupResult | undefined,
  problems: string[],
  ctx: {
    workspace: string;
    pathExists: NonNullable<ReadConfigOptions['pathExists']>;
  },
): void {
  const command = v[Inputs.Command];
  const names = v[Inputs.AsgNames];
  const groupTags = v[Inputs.AsgTags];
  if (
    names &&
    groupTags &&
    names.length === 0 &&
    groupTags.length === 0 &&
    !(command === 'finalize' && setup)
  )
    problems.push(
      'Inputs "asg-names" and "asg-tags" are both empty: select the Auto Scaling groups by name, by Key=Value tags, or both.',
    );
  const min = v[Inputs.MinHealthyPercentage];
  const max = v[Inputs.MaxHealthyPercentage];
  if (min !== undefined && max !== undefined && max - min > 100)
    problems.push(
      `Input "max-healthy-percentage" must be at most 100 above "min-healthy-percentage" (AWS rule), got "${max}" with "min-healthy-percentage" "${min}".`,
    );
  if (v[Inputs.CheckpointDelay] !== undefined && v[Inputs.CheckpointPercentages]?.length === 0)
    problems.push(
      `Input "checkpoint-delay" needs "checkpoint-percentages" (AWS accepts a delay only with checkpoints), got "${v[Inputs.CheckpointDelay]}" without any.`,
    );
  const upload = v[Inputs.Upload] ?? [];
  const script = v[Inputs.DeployScript] ?? '';
  if (command === 'deploy') {
    if (upload.length === 0 && script === '')
      problems.push(
        'Command "deploy" has nothing to deploy: set "upload" and/or "deploy-script", or use "setup" then "finalize" to deploy with your own tool in between, or "refresh" to roll out the launch template the groups use today.',
      );
    else {
      if (v[Inputs.SshUser] === '')
        problems.push(
          'Input "ssh-user" must be set for command "deploy" with an "upload" or a "deploy-script", got "".',
        );
      if (v[Inputs.SshPrivateKey] === '')
        problems.push(
          'Input "ssh-private-key" must be set for command "deploy" with an "upload" or a "deploy-script", got "".',
        );
    }
    for (const path of upload) {
      const outside = outsideWorkspace('upload', path, ctx.workspace);
      if (outside) problems.push(outside);
      else if (!ctx.pathExists(resolve(ctx.workspace, path), 'any'))
        problems.push(
          `Input "upload" must list existing files or directories (relative to ${ctx.workspace}), got ${quote(path)}.`,
        );
    }
    const scriptOutside =
      script === '' ? undefined : outsideWorkspace('deploy-script', script, ctx.workspace);
    if (scriptOutside) problems.push(scriptOutside);
    else if (script !== '' && !ctx.pathExists(resolve(ctx.workspace, script), 'file'))
      problems.push(
        `Input "deploy-script" must be an existing file (relative to ${ctx.workspace}), got ${quote(script)}.`,
      );
  }
  if (
    (command === 'deploy' || command === 'setup') &&
    v[Inputs.SshHostKeyChecking] === 'strict' &&
    v[Inputs.SshKnownHosts]?.every((line) => line.startsWith('#'))
  )
    problems.push(
      `Input "ssh-known-hosts" must list the host keys when "ssh-host-key-checking" is "strict", got ${v[Inputs.SshKnownHosts]?.length ? 'only comments' : '""'}.`,
    );
  if (command === 'finalize' && !setup)
    problems.push(
      `Command "finalize" found no "setup" result: run the action with "command: setup" in an earlier step of the same job (it exports ${SetupResultVariable}).`,
    );
  const region = v[Inputs.AwsRegion];
  if (command === 'finalize' && setup && region && region !== setup.region)
    problems.push(
      `Input "aws-region" must match the region of the "setup" step (${setup.region}), got ${quote(region)}.`,
    );
}

/** Freezes an object graph, so no phase can change the configuration another phase reads. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Reads and validates every input (and the run's environment) into one frozen Config.
 * Throws a ConfigError listing every problem, one per line.
 */
export function readConfig(
  input: InputReader,
  env: NodeJS.ProcessEnv = process.env,
  options: ReadConfigOptions = {},
): Config {
  const { values, problems } = parseFields(input, options.setSecret ?? core.setSecret);
  const run = runContext(env, problems);
  const setupResult = readSetupResult(env, problems);
  githubChecks(values, env, problems);
  crossChecks(values, setupResult, problems, {
    workspace: run.workspace,
    pathExists: options.pathExists ?? defaultPathExists,
  });
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  const v = values as Values;
  const command = v[Inputs.Command];
  // `finalize` acts on the groups `setup` prepared when no selection is given again.
  const names =
    command === 'finalize' && setupResult && v[Inputs.AsgNames].length === 0 && v[Inputs.AsgTags].length === 0
      ? [...new Set(setupResult.images.flatMap((image) => image.groups))]
      : v[Inputs.AsgNames];
  return deepFreeze<Config>({
    command,
    selection: { names, tags: v[Inputs.AsgTags] },
    maxParallel: v[Inputs.MaxParallel],
    region: v[Inputs.AwsRegion] || (command === 'finalize' ? setupResult?.region : undefined) || undefined,
    ssh: {
      user: v[Inputs.SshUser],
      privateKey: v[Inputs.SshPrivateKey],
      port: v[Inputs.SshPort],
      address: v[Inputs.SshAddress],
      timeoutSeconds: v[Inputs.SshTimeout],
      hostKeyChecking: v[Inputs.SshHostKeyChecking],
      knownHosts: v[Inputs.SshKnownHosts],
    },
    deploy: {
      upload: v[Inputs.Upload],
      uploadDir: v[Inputs.UploadDir],
      script: v[Inputs.DeployScript],
      env: v[Inputs.DeployEnv],
      timeoutSeconds: v[Inputs.DeployTimeout],
    },
    keepInstances: v[Inputs.KeepInstances],
    bake: {
      stopBeforeImage: v[Inputs.StopBeforeImage],
      amiNamePrefix: v[Inputs.AmiNamePrefix],
      amiTags: v[Inputs.AmiTags],
      timeoutSeconds: v[Inputs.AmiTimeout],
      reuseImage: v[Inputs.ReuseImage],
    },
    roll: {
      minHealthyPercentage: v[Inputs.MinHealthyPercentage],
      maxHealthyPercentage: v[Inputs.MaxHealthyPercentage],
      instanceWarmup: v[Inputs.InstanceWarmup],
      skipMatching: v[Inputs.SkipMatching],
      checkpointPercentages: v[Inputs.CheckpointPercentages],
      checkpointDelay: v[Inputs.CheckpointDelay],
      autoRollback: v[Inputs.AutoRollback],
      alarms: v[Inputs.Alarms],
      bakeTime: v[Inputs.BakeTime],
      scaleInProtectedInstances: v[Inputs.ScaleInProtectedInstances],
      standbyInstances: v[Inputs.StandbyInstances],
      waitForRefresh: v[Inputs.WaitForRefresh],
      timeoutSeconds: v[Inputs.RefreshTimeout],
      onRefreshInProgress: v[Inputs.OnRefreshInProgress],
    },
    cleanup: { keep: v[Inputs.CleanupKeep], orphanAgeMinutes: v[Inputs.OrphanAge], dryRun: v[Inputs.DryRun] },
    rollbackTo: v[Inputs.RollbackTo],
    dryRun: v[Inputs.DryRun],
    preflight: v[Inputs.Preflight],
    github: githubDeployment(v, env),
    run,
    setupResult,
  });
}

/** The action's own entry to its configuration: the runner's inputs, environment and log masking. */
export function loadConfig(): Config {
  return readConfig((name) => core.getInput(name), process.env, { setSecret: core.setSecret });
}
