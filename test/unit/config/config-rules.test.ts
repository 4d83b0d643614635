/** readConfig: the rules between inputs, and every problem reported at once. */
import { describe, expect, it } from 'vitest';
import { HOST_KEY, base, deploy, useWorkspace } from './config-builders.js';

const { read, problems } = useWorkspace();

describe('readConfig: rules between inputs', () => {
  it('needs a selection', () => {
    expect(problems({ command: 'refresh' })).toEqual([expect.stringMatching(/"asg-names" and "asg-tags"/)]);
  });

  it('keeps max-healthy-percentage at most 100 above min-healthy-percentage (AWS)', () => {
    const lines = problems({ ...base, 'min-healthy-percentage': '50', 'max-healthy-percentage': '151' });
    expect(lines).toEqual([
      expect.stringContaining('Input "max-healthy-percentage" must be at most 100 above'),
    ]);
    expect(
      read({ ...base, 'min-healthy-percentage': '50', 'max-healthy-percentage': '150' }).roll,
    ).toMatchObject({
      minHealthyPercentage: 50,
      maxHealthyPercentage: 150,
    });
  });

  it('refuses checkpoint-delay without checkpoint-percentages (AWS)', () => {
    expect(problems({ ...base, 'checkpoint-delay': '60' })).toEqual([
      expect.stringContaining('Input "checkpoint-delay" needs "checkpoint-percentages"'),
    ]);
    expect(
      read({ ...base, 'checkpoint-delay': '60', 'checkpoint-percentages': '50,100' }).roll.checkpointDelay,
    ).toBe(60);
  });

  it.each([
    ['ssh-user', { 'ssh-user': '' }],
    ['ssh-private-key', { 'ssh-private-key': '' }],
  ])('deploy with something to deploy needs %s', (name, change) => {
    expect(problems({ ...deploy, ...change })).toEqual([
      expect.stringContaining(`Input "${name}" must be set`),
    ]);
  });

  it('deploy with nothing to deploy points to setup/finalize and refresh', () => {
    const lines = problems({ ...deploy, upload: '', 'deploy-script': '' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/nothing to deploy.*"setup".*"finalize".*"refresh"/);
  });

  it('deploy refuses local paths that do not exist', () => {
    const lines = problems({ ...deploy, upload: 'build/, missing-dir', 'deploy-script': 'build' });
    expect(lines).toEqual([
      expect.stringMatching(/^Input "upload" must list existing files.*got "missing-dir"\.$/),
      expect.stringMatching(/^Input "deploy-script" must be an existing file.*got "build"\.$/),
    ]);
  });

  it('strict host key checking needs known hosts, for commands that use SSH', () => {
    expect(problems({ ...deploy, 'ssh-host-key-checking': 'strict' })).toEqual([
      expect.stringContaining('Input "ssh-known-hosts" must list the host keys'),
    ]);
    expect(
      problems({ ...deploy, 'ssh-host-key-checking': 'strict', 'ssh-known-hosts': '# keys to come\n' }),
    ).toEqual([
      'Input "ssh-known-hosts" must list the host keys when "ssh-host-key-checking" is "strict", got only comments.',
    ]);
    const strict = read({
      ...deploy,
      'ssh-host-key-checking': 'strict',
      'ssh-known-hosts': `# baked into the image\n* ${HOST_KEY}\n`,
    });
    expect(strict.ssh.knownHosts).toEqual(['# baked into the image', `* ${HOST_KEY}`]);
    expect(read({ ...base, 'ssh-host-key-checking': 'strict' }).ssh.hostKeyChecking).toBe('strict');
  });

  it('checks every known_hosts line before anything is launched, naming the line', () => {
    const key = HOST_KEY.split(' ')[1]!;
    const lines = problems({
      ...deploy,
      'ssh-known-hosts': [
        `192.0.2.5 ${HOST_KEY}`,
        '',
        'just-a-host',
        `@trusted * ${HOST_KEY}`,
        `192.0.2.6 ssh-rsa ${key}`,
        `@revoked 192.0.2.7 ${HOST_KEY}`,
      ].join('\n'),
    });
    expect(lines).toEqual([
      'Input "ssh-known-hosts" (line 3) must be a known_hosts line "host[,host2] key-type base64-key", got "just-a-host".',
      `Input "ssh-known-hosts" (line 4) must be a known_hosts line with no marker or @revoked (not @trusted), got "@trusted * ${HOST_KEY}".`,
      `Input "ssh-known-hosts" (line 5) must be a known_hosts line whose key is of the type it names (the key is ssh-ed25519, not of type ssh-rsa), got "192.0.2.6 ssh-rsa ${key}".`,
    ]);
    // Whatever the mode: a bad line is a bad input, and "off" today may be "strict" tomorrow.
    expect(
      problems({ ...base, 'ssh-host-key-checking': 'off', 'ssh-known-hosts': 'x ssh-ed25519 AAAA' }),
    ).toEqual([
      expect.stringMatching(/^Input "ssh-known-hosts" \(line 1\) must be a known_hosts line whose key/),
    ]);
  });

  it('reports all problems together, one line each', () => {
    const lines = problems({
      command: 'deploy',
      'max-parallel': '0',
      'ssh-port': 'x',
      'dry-run': 'maybe',
      'min-healthy-percentage': '10',
      'max-healthy-percentage': '200',
    });
    expect(lines).toHaveLength(6);
    expect(lines.map((line) => /"([a-z-]+)"/.exec(line)?.[1])).toEqual([
      'max-parallel',
      'ssh-port',
      'dry-run',
      'asg-names',
      'max-healthy-percentage',
      'deploy', // Command "deploy" has nothing to deploy
    ]);
  });
});
