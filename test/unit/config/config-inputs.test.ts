/** readConfig: each input on its own (numbers, choices, lists, tags, deploy-env). */
import { describe, expect, it } from 'vitest';
import { readConfig, type Config } from '../../../src/config/index.js';
import { base, useWorkspace } from './config-builders.js';

const { read, problems } = useWorkspace();

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
    ['command', 'Deploy', '"deploy", "setup", "finalize", "refresh", "cleanup", "wait-idle", "rollback"'],
    ['command', 'Rollback', '"deploy", "setup", "finalize", "refresh", "cleanup", "wait-idle", "rollback"'],
    ['rollback-to', 'latest', '"previous", a commit SHA (7 to 40 hexadecimal digits) or an AMI id'],
    ['rollback-to', 'abc12', '"previous", a commit SHA (7 to 40 hexadecimal digits) or an AMI id'],
    ['rollback-to', 'ami-xyz', '"previous", a commit SHA (7 to 40 hexadecimal digits) or an AMI id'],
    ['reuse-image', 'yes', '"true" or "false"'],
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
describe('readConfig: deploy-env', () => {
  it('parses KEY=value lines, values keeping commas and =', () => {
    expect(read({ ...base, 'deploy-env': 'A=1,2\nB_2 = x=y\n\n' }).deploy.env).toEqual({
      A: '1,2',
      B_2: 'x=y',
    });
  });
  it.each([
    ['1A=secret-1', 'the key "1A"'],
    ['secret-2', 'a line without "="'],
    ['=secret-3', 'the key ""'],
    ['A-B=secret-4', 'the key "A-B"'],
  ])('refuses %j naming the line and key, never the value', (line, shown) => {
    const found = problems({ ...base, 'deploy-env': `OK=1\n\n${line}` });
    expect(found).toEqual([expect.stringMatching(/^Input "deploy-env" \(line 3\) must be KEY=value lines/)]);
    expect(found[0]).toContain(`got ${shown}.`);
    expect(found[0]).not.toMatch(/secret-\d/);
  });
  it('masks every value before anything else happens', () => {
    const masked: string[] = [];
    readConfig(
      (name) => ({ ...base, 'deploy-env': 'API_TOKEN=tok-1\nEMPTY=\nSTAGE=prod' })[name] ?? '',
      {},
      {
        setSecret: (s) => masked.push(s),
        pathExists: () => true,
      },
    );
    expect(masked).toEqual(expect.arrayContaining(['tok-1', 'prod']));
    expect(masked).not.toContain('');
  });
});
