import { EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { credentialsExpiration, expirationWarning, runWaits } from '../../../src/aws/credentials.js';
import { fakeClock, testConfig } from '../../helpers/fakes.js';

const Now = Date.UTC(2026, 0, 2, 3, 0, 0);
/** An EC2 client whose credential provider hands out a session ending at `expiration`. */
const clientWith = (expiration?: Date): EC2Client =>
  new EC2Client({
    region: 'eu-west-1',
    credentials: async () => ({
      accessKeyId: 'ASIA',
      secretAccessKey: 'secret',
      sessionToken: 'token',
      ...(expiration ? { expiration } : {}),
    }),
  });

describe('credentialsExpiration', () => {
  it("reads the provider's expiration through the client's config", async () => {
    const at = new Date(Now + 3600_000);
    expect(await credentialsExpiration(clientWith(at))).toEqual(at);
    expect(await credentialsExpiration(clientWith())).toBeUndefined();
  });

  it('is undefined when the provider fails (the first call reports it)', async () => {
    const ec2 = new EC2Client({
      region: 'eu-west-1',
      credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
    });
    expect(await credentialsExpiration(ec2)).toBeUndefined();
  });
});

describe('expirationWarning', () => {
  // testConfig: ssh 300 s, deploy 1800 s, ami 3600 s, refresh 3600 s.
  const deploy = testConfig({ command: 'deploy' });
  const worstCase = 300 + 1800 + 3600 + 3600;

  it('warns when a one-hour session ends before the worst case of a deploy, naming role-duration-seconds', () => {
    const warning = expirationWarning(deploy, new Date(Now + 3600_000), Now);
    expect(warning).toBe(
      'The AWS credentials expire at 2026-01-02T04:00:00.000Z, in 3600 s, before this run may end ' +
        `(up to ${worstCase} s: ssh-timeout 300 s + deploy-timeout 1800 s + ami-timeout 3600 s + refresh-timeout 3600 s). ` +
        'Calls after that fail with ExpiredToken and leave the groups mid-roll: raise "role-duration-seconds" ' +
        `(of the reusable workflow or of aws-actions/configure-aws-credentials) to at least ${worstCase}, ` +
        "within the IAM role's MaxSessionDuration.",
    );
  });

  it('is quiet when the session outlasts the worst case, or never expires', () => {
    expect(expirationWarning(deploy, new Date(Now + worstCase * 1000), Now)).toBeUndefined();
    expect(expirationWarning(deploy, new Date(Now + 4 * 3600_000), Now)).toBeUndefined();
    expect(expirationWarning(deploy, undefined, Now)).toBeUndefined();
  });

  it('counts only the waits of the command', () => {
    expect(runWaits(testConfig({ command: 'refresh' }))).toEqual([['refresh-timeout', 3600]]);
    expect(runWaits(testConfig({ command: 'setup' }))).toEqual([['ssh-timeout', 300]]);
    expect(runWaits(testConfig({ command: 'finalize' })).map(([input]) => input)).toEqual([
      'ami-timeout',
      'refresh-timeout',
    ]);
    expect(
      expirationWarning(testConfig({ command: 'refresh' }), new Date(Now + 3600_000), Now),
    ).toBeUndefined();
    // cleanup has no long wait: only credentials already expired are worth a word.
    expect(
      expirationWarning(testConfig({ command: 'cleanup' }), new Date(Now + 60_000), Now),
    ).toBeUndefined();
    expect(expirationWarning(testConfig({ command: 'cleanup' }), new Date(Now - 60_000), Now)).toContain(
      'in 0 s',
    );
  });

  it('uses the clock it is given', () => {
    const clock = fakeClock(Now);
    expect(expirationWarning(deploy, new Date(Now + worstCase * 1000), clock.now())).toBeUndefined();
  });
});
