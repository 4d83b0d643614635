/**
 * The lifetime of the run's AWS credentials against the longest the run may take. A session
 * assumed with OIDC cannot be renewed inside the step: when it ends before the last wait does,
 * every call after that fails and the groups are left mid-roll. Warning at the start gives the
 * user the number to set before that happens.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Config } from '../config/index.js';

/** When the credentials the clients sign with expire; undefined for long-lived keys or none. */
export async function credentialsExpiration(ec2: Pick<EC2Client, 'config'>): Promise<Date | undefined> {
  try {
    const identity = await ec2.config.credentials();
    return identity.expiration;
  } catch {
    // No credentials at all: the first call says so, with the SDK's own message.
    return undefined;
  }
}

/** The waits of one run that can each last their whole timeout, as [input, seconds]. */
export function runWaits(config: Config): [string, number][] {
  const ssh: [string, number] = ['ssh-timeout', config.ssh.timeoutSeconds];
  const deploy: [string, number] = ['deploy-timeout', config.deploy.timeoutSeconds];
  const ami: [string, number] = ['ami-timeout', config.bake.timeoutSeconds];
  const refresh: [string, number] = ['refresh-timeout', config.roll.timeoutSeconds];
  switch (config.command) {
    case 'deploy':
      return [ssh, deploy, ami, refresh];
    case 'setup':
      return [ssh];
    case 'finalize':
      return [ami, refresh];
    case 'refresh':
    case 'wait-idle':
    case 'rollback':
      return [refresh];
    case 'cleanup':
      return [];
  }
}

/**
 * The warning to print when the credentials expire before `now` plus every wait of the run, or
 * undefined when they last (or do not expire).
 */
export function expirationWarning(
  config: Config,
  expiration: Date | undefined,
  now: number,
): string | undefined {
  if (!expiration) return undefined;
  const waits = runWaits(config);
  const needed = waits.reduce((sum, [, seconds]) => sum + seconds, 0);
  const left = Math.floor((expiration.getTime() - now) / 1000);
  if (left >= needed) return undefined;
  const breakdown = waits.map(([input, seconds]) => `${input} ${seconds} s`).join(' + ');
  return (
    `The AWS credentials expire at ${expiration.toISOString()}, in ${Math.max(0, left)} s, ` +
    `before this run may end (up to ${needed} s: ${breakdown}). Calls after that fail with ExpiredToken ` +
    `and leave the groups mid-roll: raise "role-duration-seconds" (of the reusable workflow or of ` +
    `aws-actions/configure-aws-credentials) to at least ${needed}, within the IAM role's MaxSessionDuration.`
  );
}
