/**
 * What the acceptance run talks to. Against AWS it is opt-in: without `--endpoint` it refuses to
 * start unless the account to use (ASG_ROLLING_LIVE_ACCOUNT) and the region (AWS_REGION) are named,
 * so nobody creates resources in an account by accident. With `--endpoint <url>` it runs against a
 * simulator on the loopback network (as CI does) and never reaches AWS.
 */
export interface LiveOptions {
  readonly target: 'aws' | 'simulator';
  /** The simulator's endpoint; undefined against AWS. */
  readonly endpoint: string | undefined;
  readonly region: string;
  /** The 12-digit account the run must find itself in (AWS only). */
  readonly account: string | undefined;
  /** The built action (the folder holding main/ and post/). */
  readonly dist: string;
  /** Subnets for the group; default: the default VPC's default subnets (AWS only). */
  readonly subnets: readonly string[];
  /** Who may reach the temporary instance's SSH port (AWS only). */
  readonly sshCidr: string;
}

export class OptionsError extends Error {}

const Usage =
  'usage: npm run test:aws -- [--endpoint <simulator url>] [--dist <dir>] [--subnets a,b]\n' +
  'Against AWS set ASG_ROLLING_LIVE_ACCOUNT=<12-digit account id> and AWS_REGION=<region>, with credentials in the environment.';

function flags(argv: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const known = ['--endpoint', '--dist', '--subnets'];
    if (!known.includes(arg)) throw new OptionsError(`unknown argument ${JSON.stringify(arg)}\n${Usage}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--'))
      throw new OptionsError(`${arg} needs a value\n${Usage}`);
    found.set(arg, value);
    i += 1;
  }
  return found;
}

/** Reads the arguments and environment, or says what is missing before anything is created. */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): LiveOptions {
  const given = flags(argv);
  const endpoint = given.get('--endpoint');
  const subnets = (given.get('--subnets') ?? env.ASG_ROLLING_LIVE_SUBNETS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const common = {
    dist: given.get('--dist') ?? env.ASG_ROLLING_LIVE_DIST ?? 'dist',
    subnets,
    sshCidr: env.ASG_ROLLING_LIVE_SSH_CIDR ?? '0.0.0.0/0',
  };
  if (endpoint !== undefined) {
    const url = new URL(endpoint);
    if (!/^127\.\d+\.\d+\.\d+$/.test(url.hostname) && url.hostname !== 'localhost') {
      throw new OptionsError(`--endpoint must be a simulator on the loopback network, not ${url.host}`);
    }
    return {
      target: 'simulator',
      endpoint,
      region: env.AWS_REGION || 'us-east-1',
      account: undefined,
      ...common,
    };
  }
  const account = env.ASG_ROLLING_LIVE_ACCOUNT ?? '';
  const region = env.AWS_REGION ?? '';
  const missing = [
    ...(/^\d{12}$/.test(account) ? [] : ['ASG_ROLLING_LIVE_ACCOUNT (the 12-digit id of the account to use)']),
    ...(region ? [] : ['AWS_REGION']),
  ];
  if (missing.length > 0) {
    throw new OptionsError(`refusing to run against AWS without ${missing.join(' and ')}\n${Usage}`);
  }
  return { target: 'aws', endpoint: undefined, region, account, ...common };
}
