/**
 * One rule per input: each turns the raw string into a typed value or reports what it accepts.
 * Parsed one by one, so a bad value never hides another; readConfig adds the checks between inputs.
 */
import { z } from 'zod';
import { Inputs } from '../lib/constants.js';
import type { InputReader, RollbackTarget, Tag } from './types.js';
import { KnownHostsError, parseKnownHosts } from './known-hosts.js';

/**
 * action.yml's defaults, applied when an input is empty. The runner fills them in only for inputs
 * not given at all; a reusable workflow forwarding `${{ inputs.x }}` passes '' instead, which must
 * mean "default" too. A test keeps this table equal to action.yml.
 */
export const InputDefaults: Readonly<Record<Inputs, string>> = {
  [Inputs.Command]: 'deploy',
  [Inputs.AsgNames]: '',
  [Inputs.AsgTags]: '',
  [Inputs.MaxParallel]: '8',
  [Inputs.AwsRegion]: '',
  [Inputs.SshUser]: '',
  [Inputs.SshPrivateKey]: '',
  [Inputs.SshPort]: '22',
  [Inputs.SshAddress]: 'private',
  [Inputs.SshTimeout]: '300',
  [Inputs.SshHostKeyChecking]: 'accept-new',
  [Inputs.SshKnownHosts]: '',
  [Inputs.Upload]: '',
  [Inputs.UploadDir]: 'asg-rolling',
  [Inputs.DeployScript]: '',
  [Inputs.DeployEnv]: '',
  [Inputs.DeployTimeout]: '1800',
  [Inputs.KeepInstances]: 'false',
  [Inputs.StopBeforeImage]: 'true',
  [Inputs.AmiNamePrefix]: 'asg-rolling',
  [Inputs.AmiTags]: '',
  [Inputs.AmiTimeout]: '3600',
  [Inputs.MinHealthyPercentage]: '90',
  [Inputs.MaxHealthyPercentage]: '100',
  [Inputs.InstanceWarmup]: '',
  [Inputs.SkipMatching]: 'false',
  [Inputs.CheckpointPercentages]: '',
  [Inputs.CheckpointDelay]: '',
  [Inputs.AutoRollback]: 'true',
  [Inputs.Alarms]: '',
  [Inputs.BakeTime]: '',
  [Inputs.ScaleInProtectedInstances]: 'Ignore',
  [Inputs.StandbyInstances]: 'Ignore',
  [Inputs.WaitForRefresh]: 'true',
  [Inputs.RefreshTimeout]: '3600',
  [Inputs.OnRefreshInProgress]: 'wait',
  [Inputs.CleanupKeep]: '5',
  [Inputs.OrphanAge]: '360',
  [Inputs.DryRun]: 'false',
  [Inputs.RollbackTo]: 'previous',
  [Inputs.ReuseImage]: 'true',
  [Inputs.Preflight]: 'true',
  [Inputs.GithubDeployment]: 'false',
  [Inputs.GithubToken]: '${{ github.token }}',
  [Inputs.GithubEnvironment]: '',
};

/** Splits a newline- or comma-separated input into trimmed, non-empty items. */
export function parseList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

// Each field rule reports what it accepts as the issue message; readConfig adds the input's name and
// the value given, so every line has the same shape. `got` replaces the whole value when one item of
// a list is at fault, `where` says which line of a multi-line value (a private key is never echoed).
type Ctx = z.RefinementCtx;
function problem(ctx: Ctx, accepted: string, got?: string, where?: string): void {
  ctx.addIssue({
    code: 'custom',
    message: accepted,
    params: { ...(got === undefined ? {} : { got }), ...(where === undefined ? {} : { where }) },
  });
}
function reject(ctx: Ctx, accepted: string): typeof z.NEVER {
  problem(ctx, accepted);
  return z.NEVER;
}

const DAY = 86_400;
/** The longest a job can run on a self-hosted runner (five days): no wait in a job is longer. */
const MAX_JOB_SECONDS = 5 * DAY;

const whole = (min: number, max: number) =>
  z.string().transform((value, ctx) => {
    const n = Number(value);
    return /^\d+$/.test(value) && n >= min && n <= max
      ? n
      : reject(ctx, `a whole number from ${min} to ${max}`);
  });
const optionalWhole = (min: number, max: number, empty: string) =>
  z.string().transform((value, ctx) => {
    if (value === '') return undefined;
    const n = Number(value);
    return /^\d+$/.test(value) && n >= min && n <= max
      ? n
      : reject(ctx, `empty (${empty}) or a whole number from ${min} to ${max}`);
  });
// Case-insensitive, a superset of core.getBooleanInput's true|True|TRUE|false|False|FALSE.
const bool = z.string().transform((value, ctx) => {
  const lower = value.toLowerCase();
  return lower === 'true' || lower === 'false' ? lower === 'true' : reject(ctx, '"true" or "false"');
});
const oneOf = <const T extends string>(values: readonly T[]) =>
  z
    .string()
    .transform((value, ctx) =>
      (values as readonly string[]).includes(value)
        ? (value as T)
        : reject(ctx, `one of ${values.map((v) => `"${v}"`).join(', ')} (exact case)`),
    );
const text = z.string();
const list = (maxItemLength: number, maxItems = Infinity, what = 'names') =>
  z.string().transform((value, ctx) => {
    const items = parseList(value);
    for (const item of items)
      if (item.length > maxItemLength) problem(ctx, `${what} of at most ${maxItemLength} characters`, item);
    if (items.length > maxItems) problem(ctx, `at most ${maxItems} ${what}`);
    return items;
  });

/** `Key=Value` items; `forCreation` adds the rules for tags we put on resources, not just filter by. */
const tags = (forCreation: boolean) =>
  z.string().transform((value, ctx) => {
    const result: Tag[] = [];
    for (const item of parseList(value)) {
      const at = item.indexOf('=');
      const key = at < 0 ? '' : item.slice(0, at).trim();
      const tagValue = at < 0 ? '' : item.slice(at + 1).trim();
      if (key === '') problem(ctx, 'Key=Value pairs separated by newlines or commas, each with a key', item);
      else if (key.length > 128 || tagValue.length > 256)
        problem(ctx, 'tags with keys of at most 128 and values of at most 256 characters (AWS limits)', item);
      else if (result.some((t) => t.key === key)) problem(ctx, 'tags with distinct keys', item);
      else if (forCreation && /^(aws|asg-rolling):/i.test(key))
        problem(
          ctx,
          'tags whose keys do not start with "aws:" (reserved by AWS) or "asg-rolling:" (ours)',
          item,
        );
      else result.push({ key, value: tagValue });
    }
    return result;
  });

const percentages = z.string().transform((value, ctx) => {
  const items = parseList(value);
  const numbers = items.map(Number);
  const ok = items.every((item) => /^\d+$/.test(item)) && numbers.every((n) => n >= 1 && n <= 100);
  if (!ok) return reject(ctx, 'whole numbers from 1 to 100 separated by commas');
  if (numbers.some((n, i) => i > 0 && n <= (numbers[i - 1] ?? 0)))
    return reject(ctx, 'strictly ascending percentages (AWS requires ascending, unique checkpoints)');
  // AWS stops the refresh at the last checkpoint: without 100 it ends "Successful" with part of
  // the group still on the old image, which a deploy must never report as done.
  if (numbers.length > 0 && numbers.at(-1) !== 100)
    return reject(ctx, 'a list ending with 100 (AWS replaces only up to the last checkpoint)');
  return numbers;
});

/**
 * `KEY=value` lines for the deploy script. Values are secrets as far as we know (tokens, passwords):
 * parseFields masks each one, and a bad line is named by its number and key, never by its text.
 */
const deployEnv = z.string().transform((value, ctx) => {
  const env: Record<string, string> = {};
  value.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const at = line.indexOf('=');
    const key = at < 0 ? undefined : line.slice(0, at).trim();
    if (key === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      problem(
        ctx,
        'KEY=value lines whose keys are letters, digits and _ (not starting with a digit)',
        key,
        `line ${index + 1}`,
      );
    else env[key] = line.slice(at + 1).trim();
  });
  return env;
});

/**
 * known_hosts lines, each checked here so a bad one is a configuration error naming its line before
 * any instance is launched. The lines themselves are kept: the verifier parses them again.
 */
const knownHosts = z.string().transform((value, ctx) => {
  const lines: string[] = [];
  value.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    try {
      parseKnownHosts([line]);
      lines.push(line);
    } catch (error) {
      if (!(error instanceof KnownHostsError)) throw error;
      problem(ctx, error.expected, line, `line ${index + 1}`);
    }
  });
  return lines;
});

// AMI names allow 3-128 of these characters; the prefix leaves room for id, commit and time.
const amiNamePrefix = z
  .string()
  .transform((value, ctx) =>
    /^[A-Za-z0-9()[\] ./'@_-]{1,64}$/.test(value)
      ? value
      : reject(ctx, "1 to 64 characters of letters, digits, spaces and ( ) [ ] . / - ' @ _ (AMI name rules)"),
  );

/** `previous`, a commit SHA (7 to 40 hex digits, as our AMIs' commit tag holds it), or an AMI id. */
const rollbackTo = z.string().transform((value, ctx): RollbackTarget => {
  if (value === 'previous') return { kind: 'previous' };
  if (/^[0-9a-f]{7,40}$/i.test(value)) return { kind: 'commit', commit: value.toLowerCase() };
  if (/^ami-[0-9a-f]{8,17}$/.test(value)) return { kind: 'image', imageId: value };
  return reject(ctx, '"previous", a commit SHA (7 to 40 hexadecimal digits) or an AMI id (ami-…)');
});

const PRIVATE_KEY = /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\n[\s\S]+\n-----END [A-Z0-9 ]*PRIVATE KEY-----\n$/;
/** Secrets often lose their final newline or arrive with CRLF or literal `\n`s; OpenSSH rejects all three. */
export function normalizeKey(key: string): string {
  let text = key.replace(/\r\n?/g, '\n').trim();
  if (!text.includes('\n') && text.includes('\\n')) text = text.replace(/\\n/g, '\n');
  return text === '' ? '' : `${text}\n`;
}

// GitHub's environment names: at most 255 characters, no line breaks or control characters.
const githubEnvironment = z
  .string()
  .transform((value, ctx) =>
    value.length <= 255 && ![...value].some((c) => c < ' ' || c === '\u007f')
      ? value
      : reject(ctx, 'empty or an environment name of at most 255 characters on one line'),
  );

export const fields = {
  [Inputs.Command]: oneOf([
    'deploy',
    'setup',
    'finalize',
    'refresh',
    'cleanup',
    'wait-idle',
    'rollback',
  ] as const),
  [Inputs.AsgNames]: list(255, Infinity, 'group names'),
  [Inputs.AsgTags]: tags(false),
  [Inputs.MaxParallel]: whole(1, 1000),
  [Inputs.AwsRegion]: z
    .string()
    .transform((v, ctx) =>
      v === '' || /^[a-z]{2}(-[a-z]+)+-\d+$/.test(v)
        ? v
        : reject(ctx, 'empty or a region code like "eu-west-1"'),
    ),
  [Inputs.SshUser]: z
    .string()
    .transform((v, ctx) =>
      /^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$|^$/.test(v)
        ? v
        : reject(ctx, 'a user name (letters, digits, . _ -)'),
    ),
  [Inputs.SshPrivateKey]: z.string().transform((v, ctx) => {
    const key = normalizeKey(v);
    return key === '' || PRIVATE_KEY.test(key)
      ? key
      : reject(
          ctx,
          'a PEM or OpenSSH private key (-----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY-----)',
        );
  }),
  [Inputs.SshPort]: whole(1, 65535),
  [Inputs.SshAddress]: oneOf(['private', 'public'] as const),
  [Inputs.SshTimeout]: whole(1, MAX_JOB_SECONDS),
  [Inputs.SshHostKeyChecking]: oneOf(['accept-new', 'strict', 'off'] as const),
  [Inputs.SshKnownHosts]: knownHosts,
  [Inputs.Upload]: z.string().transform(parseList),
  [Inputs.UploadDir]: text,
  [Inputs.DeployScript]: text,
  [Inputs.DeployEnv]: deployEnv,
  [Inputs.DeployTimeout]: whole(1, MAX_JOB_SECONDS),
  [Inputs.KeepInstances]: bool,
  [Inputs.StopBeforeImage]: bool,
  [Inputs.AmiNamePrefix]: amiNamePrefix,
  [Inputs.AmiTags]: tags(true),
  [Inputs.AmiTimeout]: whole(1, MAX_JOB_SECONDS),
  [Inputs.MinHealthyPercentage]: whole(0, 100),
  [Inputs.MaxHealthyPercentage]: whole(100, 200),
  [Inputs.InstanceWarmup]: optionalWhole(0, MAX_JOB_SECONDS, "the group's default"),
  [Inputs.SkipMatching]: bool,
  [Inputs.CheckpointPercentages]: percentages,
  [Inputs.CheckpointDelay]: optionalWhole(0, 2 * DAY, 'AWS default, 3600'),
  [Inputs.AutoRollback]: bool,
  [Inputs.Alarms]: list(255, 10, 'alarm names'),
  [Inputs.BakeTime]: optionalWhole(0, 2 * DAY, 'AWS default'),
  [Inputs.ScaleInProtectedInstances]: oneOf(['Refresh', 'Ignore', 'Wait'] as const),
  [Inputs.StandbyInstances]: oneOf(['Terminate', 'Ignore', 'Wait'] as const),
  [Inputs.WaitForRefresh]: bool,
  [Inputs.RefreshTimeout]: whole(1, MAX_JOB_SECONDS),
  [Inputs.OnRefreshInProgress]: oneOf(['wait', 'cancel', 'fail'] as const),
  [Inputs.CleanupKeep]: whole(1, 1000),
  [Inputs.OrphanAge]: whole(1, 525_600),
  [Inputs.DryRun]: bool,
  [Inputs.RollbackTo]: rollbackTo,
  [Inputs.ReuseImage]: bool,
  [Inputs.Preflight]: bool,
  [Inputs.GithubDeployment]: bool,
  [Inputs.GithubToken]: text,
  [Inputs.GithubEnvironment]: githubEnvironment,
} satisfies Record<Inputs, z.ZodType<unknown, string>>;

export type Values = { -readonly [K in Inputs]: z.output<(typeof fields)[K]> };

/** Quotes a value for a message, newlines and all, the same way everywhere. */
export const quote = (value: string): string => JSON.stringify(value);

/** Parses every input on its own, so one bad value never hides another. */
export function parseFields(input: InputReader, setSecret: (secret: string) => void) {
  const values: Partial<Values> = {};
  const problems: string[] = [];
  for (const name of Object.values(Inputs)) {
    const raw = input(name).trim() || InputDefaults[name];
    if (name === Inputs.SshPrivateKey && raw !== '') maskKey(raw, setSecret);
    if (name === Inputs.GithubToken && raw !== '') setSecret(raw);
    const result = fields[name].safeParse(raw);
    if (result.success) {
      (values as Record<string, unknown>)[name] = result.data;
      if (name === Inputs.DeployEnv) maskValues(result.data as Record<string, string>, setSecret);
      continue;
    }
    for (const issue of result.error.issues) {
      const { got, where } = (issue as { params?: { got?: string; where?: string } }).params ?? {};
      problems.push(
        `Input "${name}"${where ? ` (${where})` : ''} must be ${issue.message}, got ${shownValue(name, raw, got)}.`,
      );
    }
  }
  return { values, problems };
}

/** What a config error shows of the value given: secrets never, only their shape. */
function shownValue(name: Inputs, raw: string, got: string | undefined): string {
  if (name === Inputs.SshPrivateKey) return `a value of ${raw.length} characters`;
  if (name === Inputs.DeployEnv) return got === undefined ? 'a line without "="' : `the key ${quote(got)}`;
  return quote(got ?? raw);
}

/** Masks every deploy-env value, so a script that prints its environment prints `***`. */
function maskValues(env: Readonly<Record<string, string>>, setSecret: (secret: string) => void): void {
  for (const value of Object.values(env)) if (value !== '') setSecret(value);
}

/**
 * Masks the key as a whole and line by line: the runner matches secrets within one log line, so a
 * multi-line secret registered only whole would still leak a line printed on its own.
 */
function maskKey(key: string, setSecret: (secret: string) => void): void {
  const normalized = normalizeKey(key);
  const secrets = new Set([key, normalized.trimEnd()]);
  for (const line of normalized.split('\n'))
    if (line.trim() !== '' && !line.startsWith('-----')) secrets.add(line.trim());
  for (const secret of secrets) setSecret(secret);
}
