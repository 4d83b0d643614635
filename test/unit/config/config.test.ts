import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InputDefaults, parseList } from '../../../src/config/fields.js';
import { encodeSetupResult, SetupResultVariable, type SetupResult } from '../../../src/config/hand-off.js';
import { ConfigError, readConfig, type Config } from '../../../src/config/index.js';
import { Inputs } from '../../../src/lib/constants.js';

const KEY_BODY = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n`;
/** A real ed25519 host public key, as known_hosts lists it. */
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINamKMxvVjK62XsIUhQSaoOguzwJh314svvcMhRjNE2c';

let workspace: string;
beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'config-test-'));
  mkdirSync(join(workspace, 'build'));
  writeFileSync(join(workspace, 'deploy.sh'), '#!/bin/sh\n');
});
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** A valid `refresh` run: the smallest set of inputs every case starts from. */
const base: Record<string, string> = { command: 'refresh', 'asg-names': 'web' };
/** A valid `deploy` with something to deploy and SSH to do it. */
const deploy: Record<string, string> = {
  command: 'deploy',
  'asg-tags': 'app=shop',
  upload: 'build/',
  'deploy-script': 'deploy.sh',
  'ssh-user': 'deploy',
  'ssh-private-key': KEY,
};

interface ReadOptions {
  env?: NodeJS.ProcessEnv;
  secrets?: string[];
}
function read(inputs: Record<string, string>, options: ReadOptions = {}): Config {
  const env = { GITHUB_WORKSPACE: workspace, ...options.env };
  return readConfig((name) => inputs[name] ?? '', env, {
    setSecret: (secret) => options.secrets?.push(secret),
  });
}
function problems(inputs: Record<string, string>, env?: NodeJS.ProcessEnv): string[] {
  try {
    read(inputs, { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

const setup: SetupResult = {
  runId: '42-1',
  region: 'eu-west-1',
  images: [
    { sourceImageId: 'ami-0abc', instanceId: 'i-0abc', address: '192.0.2.5', groups: ['web', 'api'] },
    { sourceImageId: 'ami-0def', instanceId: 'i-0def', address: '192.0.2.6', groups: ['worker'] },
  ],
};

describe('readConfig: one input at a time', () => {
  // [input, value given, fragment of what is accepted]
  const cases: [string, string, string][] = [
    ['max-parallel', '0', 'a whole number from 1 to 1000'],
    ['max-parallel', '-1', 'a whole number from 1 to 1000'],
    ['max-parallel', 'abc', 'a whole number from 1 to 1000'],
    ['max-parallel', '1.5', 'a whole number from 1 to 1000'],
    ['max-parallel', '1001', 'a whole number from 1 to 1000'],
    ['ssh-port', '0', 'a whole number from 1 to 65535'],
    ['ssh-port', '65536', 'a whole number from 1 to 65535'],
    ['ssh-timeout', '0', 'a whole number from 1 to 432000'],
    ['ssh-timeout', '5m', 'a whole number from 1 to 432000'],
    ['deploy-timeout', '-5', 'a whole number from 1 to 432000'],
    ['ami-timeout', '1e3', 'a whole number from 1 to 432000'],
    ['refresh-timeout', '432001', 'a whole number from 1 to 432000'],
    ['min-healthy-percentage', '101', 'a whole number from 0 to 100'],
    ['min-healthy-percentage', '-1', 'a whole number from 0 to 100'],
    ['max-healthy-percentage', '99', 'a whole number from 100 to 200'],
    ['max-healthy-percentage', '201', 'a whole number from 100 to 200'],
    ['instance-warmup', '-1', "empty (the group's default) or a whole number from 0"],
    ['checkpoint-delay', '172801', 'a whole number from 0 to 172800'],
    ['bake-time', '172801', 'a whole number from 0 to 172800'],
    ['bake-time', 'soon', 'a whole number from 0 to 172800'],
    ['cleanup-keep', '0', 'a whole number from 1 to 1000'],
    ['orphan-age', '0', 'a whole number from 1 to 525600'],
    ['checkpoint-percentages', '0,100', 'whole numbers from 1 to 100'],
    ['checkpoint-percentages', '50,101', 'whole numbers from 1 to 100'],
    ['checkpoint-percentages', '20.5,100', 'whole numbers from 1 to 100'],
    ['checkpoint-percentages', '50,20,100', 'strictly ascending'],
    ['checkpoint-percentages', '20,20,100', 'strictly ascending'],
    ['checkpoint-percentages', '20,50', 'ending with 100'],
    ['keep-instances', 'yes', '"true" or "false"'],
    ['dry-run', '1', '"true" or "false"'],
    ['auto-rollback', 'on', '"true" or "false"'],
    ['command', 'Deploy', '"deploy", "setup", "finalize", "refresh", "cleanup", "wait-idle"'],
    ['command', 'rollback', '"deploy", "setup", "finalize", "refresh", "cleanup", "wait-idle"'],
    ['ssh-address', 'Public', '"private", "public"'],
    ['ssh-host-key-checking', 'no', '"accept-new", "strict", "off"'],
    ['on-refresh-in-progress', 'Wait', '"wait", "cancel", "fail"'],
    ['scale-in-protected-instances', 'refresh', '"Refresh", "Ignore", "Wait"'],
    ['standby-instances', 'terminate', '"Terminate", "Ignore", "Wait"'],
    ['aws-region', 'Europe', 'a region code like "eu-west-1"'],
    ['ssh-user', 'bad user', 'a user name'],
    ['ami-name-prefix', 'bad{name}', 'AMI name rules'],
    ['alarms', 'a,b,c,d,e,f,g,h,i,j,k', 'at most 10 alarm names'],
  ];
  it.each(cases)(
    '%s = %j is refused, naming the input, the value and what is accepted',
    (name, value, accepted) => {
      const lines = problems({ ...base, [name]: value });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`Input "${name}" must be `);
      expect(lines[0]).toContain(accepted);
      expect(lines[0]).toContain(`got ${JSON.stringify(value)}.`);
    },
  );

  it('quotes the exact message shape', () => {
    expect(problems({ ...base, 'max-parallel': '0' })).toEqual([
      'Input "max-parallel" must be a whole number from 1 to 1000, got "0".',
    ]);
  });

  const accepted: [string, string, (c: Config) => unknown, unknown][] = [
    ['max-parallel', '1', (c) => c.maxParallel, 1],
    ['max-parallel', '1000', (c) => c.maxParallel, 1000],
    ['ssh-port', '2222', (c) => c.ssh.port, 2222],
    ['min-healthy-percentage', '0', (c) => c.roll.minHealthyPercentage, 0],
    ['instance-warmup', '0', (c) => c.roll.instanceWarmup, 0],
    ['instance-warmup', '', (c) => c.roll.instanceWarmup, undefined],
    ['bake-time', '172800', (c) => c.roll.bakeTime, 172800],
    ['checkpoint-percentages', '20, 50,100', (c) => c.roll.checkpointPercentages, [20, 50, 100]],
    ['checkpoint-percentages', '100', (c) => c.roll.checkpointPercentages, [100]],
    ['keep-instances', 'TRUE', (c) => c.keepInstances, true],
    ['keep-instances', 'True', (c) => c.keepInstances, true],
    ['stop-before-image', 'False', (c) => c.bake.stopBeforeImage, false],
    ['aws-region', 'us-gov-west-1', (c) => c.region, 'us-gov-west-1'],
    ['aws-region', '', (c) => c.region, undefined],
    ['alarms', 'cpu-high\nerrors', (c) => c.roll.alarms, ['cpu-high', 'errors']],
    ['command', 'wait-idle', (c) => c.command, 'wait-idle'],
    // Empty means the default: a reusable workflow forwarding an unset input passes ''.
    ['max-parallel', '', (c) => c.maxParallel, 8],
    ['ssh-timeout', '  ', (c) => c.ssh.timeoutSeconds, 300],
  ];
  it.each(accepted)('%s = %j is accepted', (name, value, pick, expected) => {
    expect(pick(read({ ...base, [name]: value }))).toEqual(expected);
  });
});

describe('readConfig: tags', () => {
  it.each([
    ['a=b=c', [{ key: 'a', value: 'b=c' }]],
    [
      ' app = shop ,\n env=prod\n',
      [
        { key: 'app', value: 'shop' },
        { key: 'env', value: 'prod' },
      ],
    ],
    ['empty=', [{ key: 'empty', value: '' }]],
    ['aws:cloudformation:stack-name=shop', [{ key: 'aws:cloudformation:stack-name', value: 'shop' }]],
  ])('asg-tags %j parses', (value, tags) => {
    expect(read({ command: 'refresh', 'asg-tags': value }).selection.tags).toEqual(tags);
  });

  it.each([
    ['foo', 'foo', 'Key=Value'],
    ['=x', '=x', 'each with a key'],
    [`${'k'.repeat(129)}=v`, `${'k'.repeat(129)}=v`, 'at most 128'],
    [`k=${'v'.repeat(257)}`, `k=${'v'.repeat(257)}`, 'at most 256'],
    ['a=1,a=2', 'a=2', 'distinct keys'],
  ])('asg-tags %j is refused naming the bad item', (value, item, accepted) => {
    const lines = problems({ command: 'refresh', 'asg-names': 'web', 'asg-tags': value });
    expect(lines).toEqual([expect.stringContaining(`Input "asg-tags" must be `)]);
    expect(lines[0]).toContain(accepted);
    expect(lines[0]).toContain(`got ${JSON.stringify(item)}.`);
  });

  it('reports every bad tag, one line each', () => {
    expect(problems({ ...base, 'asg-tags': 'foo, =x, ok=1' })).toHaveLength(2);
  });

  it('refuses AMI tags that would clash with AWS or our own keys, but not for selection', () => {
    const lines = problems({ ...base, 'ami-tags': 'aws:x=1\nasg-rolling:managed=no\nteam=web' });
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.startsWith('Input "ami-tags" must be '))).toBe(true);
    expect(read({ ...base, 'ami-tags': 'team=web' }).bake.amiTags).toEqual([{ key: 'team', value: 'web' }]);
  });
});

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
      `Input "ssh-known-hosts" (line 4) must be a known_hosts line with no marker, @revoked or @cert-authority (not @trusted), got "@trusted * ${HOST_KEY}".`,
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

describe('readConfig: setup → finalize through the job environment', () => {
  const env = { [SetupResultVariable]: encodeSetupResult(setup) };

  it('finalize without a setup result fails clearly', () => {
    expect(problems({ command: 'finalize', 'asg-names': 'web' })).toEqual([
      expect.stringMatching(/^Command "finalize" found no "setup" result.*ASG_ROLLING_SETUP/),
    ]);
  });

  it('finalize takes the groups and region of setup when none are given', () => {
    const config = read({ command: 'finalize' }, { env });
    expect(config.setupResult).toEqual(setup);
    expect(config.selection.names).toEqual(['web', 'api', 'worker']);
    expect(config.region).toBe('eu-west-1');
  });

  it('finalize refuses a region other than the setup one', () => {
    expect(problems({ command: 'finalize', 'aws-region': 'us-east-1' }, env)).toEqual([
      expect.stringContaining('Input "aws-region" must match the region of the "setup" step (eu-west-1)'),
    ]);
  });

  it.each([
    ['not JSON', '{oops', /is not JSON/],
    ['wrong shape', JSON.stringify({ ...setup, images: [{ instanceId: 'x' }] }), /images\.0\.sourceImageId/],
    ['no images', JSON.stringify({ ...setup, images: [] }), /not a valid "setup" result/],
  ])('a malformed setup result (%s) is reported', (_what, value, pattern) => {
    const lines = problems({ command: 'finalize' }, { [SetupResultVariable]: value });
    expect(lines.some((line) => pattern.test(line))).toBe(true);
  });

  it('encodeSetupResult refuses what finalize could not read', () => {
    expect(() => encodeSetupResult({ ...setup, images: [] })).toThrow();
  });
});

describe('readConfig: private key', () => {
  it('masks the key as soon as it is read, even when other inputs are wrong', () => {
    const secrets: string[] = [];
    expect(() => read({ ...deploy, 'max-parallel': '0' }, { secrets })).toThrow(ConfigError);
    expect(secrets).toContain(KEY.trim());
    expect(secrets).toContain(KEY_BODY);
    expect(secrets.some((s) => s.startsWith('-----'))).toBe(true); // the whole key, armor and all
    expect(secrets).not.toContain('-----BEGIN OPENSSH PRIVATE KEY-----');
  });

  it.each([
    ['without a final newline', KEY.trimEnd()],
    ['with CRLF line ends', KEY.replace(/\n/g, '\r\n')],
    ['with literal \\n', KEY.trimEnd().replace(/\n/g, '\\n')],
  ])('normalizes a key %s', (_what, key) => {
    expect(read({ ...deploy, 'ssh-private-key': key }).ssh.privateKey).toBe(KEY);
  });

  it('refuses a value that is not a key without echoing it', () => {
    const lines = problems({ ...deploy, 'ssh-private-key': 'hunter2-secret' });
    expect(lines).toEqual(['Input "ssh-private-key" must be ' + lines[0]?.split(' must be ')[1]]);
    expect(lines[0]).toContain('got a value of 14 characters.');
    expect(lines.join()).not.toContain('hunter2');
  });
});

describe('readConfig: deploy-env', () => {
  it('parses KEY=value lines, values keeping commas and =', () => {
    expect(read({ ...base, 'deploy-env': 'A=1,2\nB_2 = x=y\n\n' }).deploy.env).toEqual({
      A: '1,2',
      B_2: 'x=y',
    });
  });
  it.each(['1A=x', 'novalue', '=x', 'A-B=1'])('refuses %j', (line) => {
    expect(problems({ ...base, 'deploy-env': line })).toEqual([
      expect.stringMatching(new RegExp(`^Input "deploy-env" must be .*got ${JSON.stringify(line)}\\.$`)),
    ]);
  });
});

describe('readConfig: run context and the result', () => {
  it('comes from the runner environment', () => {
    const config = read(base, {
      env: {
        GITHUB_RUN_ID: '123',
        GITHUB_RUN_ATTEMPT: '2',
        GITHUB_SHA: 'abc123',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'o/r',
      },
    });
    expect(config.run).toEqual({
      runId: '123-2',
      commit: 'abc123',
      workspace,
      runUrl: 'https://github.com/o/r/actions/runs/123',
      pollScale: 1,
    });
  });

  it('takes the poll scale from ASG_ROLLING_POLL_SCALE, bounded to 0.001..1', () => {
    expect(read(base, { env: { ASG_ROLLING_POLL_SCALE: '0.01' } }).run.pollScale).toBe(0.01);
    expect(read(base, { env: { ASG_ROLLING_POLL_SCALE: ' 0.001 ' } }).run.pollScale).toBe(0.001);
    expect(read(base, { env: { ASG_ROLLING_POLL_SCALE: '1' } }).run.pollScale).toBe(1);
    expect(read(base, { env: { ASG_ROLLING_POLL_SCALE: '' } }).run.pollScale).toBe(1);
    for (const bad of ['fast', '0', '0.0009', '-1', '2', 'Infinity', '1e999'])
      expect(problems(base, { ASG_ROLLING_POLL_SCALE: bad })).toEqual([
        `Environment variable "ASG_ROLLING_POLL_SCALE" must be a number from 0.001 to 1 (a simulator's time scale; unset for real AWS), got "${bad}".`,
      ]);
  });

  it('gets a random run id outside Actions', () => {
    const a = readConfig((name) => base[name] ?? '', {}, { setSecret: () => {} });
    const b = readConfig((name) => base[name] ?? '', {}, { setSecret: () => {} });
    expect(a.run.runId).toMatch(/^local-[0-9a-f]{12}$/);
    expect(a.run.runId).not.toBe(b.run.runId);
    expect(a.run.workspace).toBe(process.cwd());
  });

  it('is deeply frozen', () => {
    const config = read(deploy);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.roll)).toBe(true);
    expect(Object.isFrozen(config.selection.tags[0])).toBe(true);
    expect(() => (config.deploy.upload as string[]).push('x')).toThrow(TypeError);
  });

  it('reads a full deploy', () => {
    const config = read(deploy);
    expect(config.command).toBe('deploy');
    expect(config.selection).toEqual({ names: [], tags: [{ key: 'app', value: 'shop' }] });
    expect(config.deploy).toMatchObject({
      upload: ['build/'],
      script: 'deploy.sh',
      uploadDir: 'asg-rolling',
    });
    expect(config.ssh).toMatchObject({ user: 'deploy', privateKey: KEY, port: 22, address: 'private' });
  });
});

describe('InputDefaults', () => {
  it('equals the defaults in action.yml, input by input', () => {
    const action = parse(readFileSync('action.yml', 'utf8')) as {
      inputs: Record<string, { default?: string }>;
    };
    const fromAction = Object.fromEntries(
      Object.entries(action.inputs).map(([k, v]) => [k, v.default ?? '']),
    );
    expect(InputDefaults).toEqual(fromAction);
    expect(Object.keys(fromAction).sort()).toEqual(Object.values(Inputs).sort());
  });
});

describe('parseList', () => {
  it.each([
    ['a,b', ['a', 'b']],
    [' a \n\n b ,, c ', ['a', 'b', 'c']],
    ['', []],
    [',\n,', []],
  ])('%j', (text, items) => expect(parseList(text)).toEqual(items));
});
