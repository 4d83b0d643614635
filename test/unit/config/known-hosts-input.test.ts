/**
 * `ssh-known-hosts` lines the action cannot honour are configuration errors, before any launch:
 * an `@cert-authority` line would otherwise be read and then match no host key at all.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../../src/config/index.js';

const KEY_BODY = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n`;
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINamKMxvVjK62XsIUhQSaoOguzwJh314svvcMhRjNE2c';

function problems(inputs: Record<string, string>): string[] {
  try {
    readConfig(
      (name) => inputs[name] ?? '',
      { GITHUB_WORKSPACE: process.cwd() },
      { setSecret: () => undefined },
    );
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('ssh-known-hosts: @cert-authority', () => {
  it('is refused naming its line and saying it is not supported, without echoing the SSH key', () => {
    const lines = problems({
      command: 'setup',
      'asg-tags': 'app=shop',
      'ssh-user': 'deploy',
      'ssh-private-key': KEY,
      'ssh-host-key-checking': 'strict',
      'ssh-known-hosts': [
        `192.0.2.5 ${HOST_KEY}`,
        '# the fleet CA',
        `@cert-authority *.example.com ${HOST_KEY}`,
      ].join('\n'),
    });
    expect(lines).toEqual([
      `Input "ssh-known-hosts" (line 3) must be a known_hosts line of a host's own key: @cert-authority lines are not supported (host certificates are not checked), so list the hosts' keys instead, got "@cert-authority *.example.com ${HOST_KEY}".`,
    ]);
    expect(lines.join('\n')).not.toContain(KEY_BODY);
  });

  it('is refused whatever the checking mode', () => {
    expect(
      problems({
        command: 'refresh',
        'asg-names': 'web',
        'ssh-host-key-checking': 'off',
        'ssh-known-hosts': `@cert-authority * ${HOST_KEY}`,
      }),
    ).toEqual([
      expect.stringMatching(/^Input "ssh-known-hosts" \(line 1\) .*@cert-authority lines are not supported/),
    ]);
  });
});
