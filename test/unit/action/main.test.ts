import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import type { CleanupReport } from '../../../src/report/records.js';
import type { Config } from '../../../src/config/index.js';
import { State } from '../../../src/lib/constants.js';
import { run, type MainDeps } from '../../../src/action/main.js';
import { fakeClock, recordingLogger, testConfig } from '../../helpers/fakes.js';

function deps(config: Config, overrides: Partial<MainDeps> = {}) {
  const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
  const clients = {
    ec2: new EC2Client({ region: 'eu-west-1', credentials }),
    autoScaling: new AutoScalingClient({ region: 'eu-west-1', credentials }),
  };
  const asg = mockClient(clients.autoScaling);
  asg.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [{ AutoScalingGroupName: 'web' }, { AutoScalingGroupName: 'api' }] as never,
  });
  const outputs = new Map<string, string>();
  const state = new Map<string, string>();
  const log = recordingLogger();
  let summary = '';
  const all: Partial<MainDeps> = {
    loadConfig: () => config,
    createClients: () => clients,
    clock: fakeClock(),
    log,
    saveState: (k, v) => state.set(k, v),
    setOutput: (k, v) => outputs.set(k, v),
    exportVariable: () => undefined,
    writeSummary: async (md) => {
      summary = md;
    },
    installSignals: false,
    ...overrides,
  };
  return { all, asg, outputs, state, log, summary: () => summary };
}

const emptyCleanup: CleanupReport = { deleted: [], kept: [], failures: [] };

describe('main.run', () => {
  it('warns at the start when the credentials expire before the longest the run may take', async () => {
    const config = testConfig({ command: 'refresh' });
    const clock = fakeClock();
    const expiring = {
      accessKeyId: 'a',
      secretAccessKey: 'b',
      expiration: new Date(clock.now() + 600_000),
    };
    const clients = {
      ec2: new EC2Client({ region: 'eu-west-1', credentials: async () => expiring }),
      autoScaling: new AutoScalingClient({ region: 'eu-west-1', credentials: async () => expiring }),
    };
    const { all, log } = deps(config, { clock, createClients: () => clients });
    const asg = mockClient(clients.autoScaling);
    asg.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    await run(all).catch(() => undefined);
    const warnings = log.lines.filter((line) => line.startsWith('warning '));
    expect(warnings[0]).toMatch(
      /^warning The AWS credentials expire at .*, in 600 s, .*"role-duration-seconds".* at least 3600,/,
    );
    asg.restore();
  });

  it('refresh: refreshes every group with its current template and no rollback', async () => {
    const { all, asg, outputs, state, summary } = deps(testConfig({ command: 'refresh' }));
    asg.on(StartInstanceRefreshCommand).callsFake((input: { AutoScalingGroupName: string }) => ({
      InstanceRefreshId: `r-${input.AutoScalingGroupName}`,
    }));
    asg.on(DescribeInstanceRefreshesCommand).callsFake((input: { InstanceRefreshIds: string[] }) => ({
      InstanceRefreshes: [{ InstanceRefreshId: input.InstanceRefreshIds[0], Status: 'Successful' }],
    }));
    await run(all);
    const starts = asg.commandCalls(StartInstanceRefreshCommand).map((c) => c.args[0].input);
    expect(starts).toHaveLength(2);
    for (const input of starts) {
      expect(input.DesiredConfiguration).toBeUndefined();
      expect(input.Preferences?.AutoRollback).toBe(false);
    }
    expect(
      JSON.parse(outputs.get('instance-refreshes') ?? '[]').map((r: { group: string }) => r.group),
    ).toEqual(['api', 'web']);
    expect(state.get(State.Region)).toBe('eu-west-1');
    expect(state.get(State.KeepInstances)).toBe('false');
    expect(summary()).toContain('| web |');
  });

  it('refresh: throws naming the failed group, after writing outputs and summary', async () => {
    const { all, asg, outputs, summary, log } = deps(testConfig({ command: 'refresh' }));
    asg.on(StartInstanceRefreshCommand).callsFake((input: { AutoScalingGroupName: string }) => ({
      InstanceRefreshId: `r-${input.AutoScalingGroupName}`,
    }));
    asg.on(DescribeInstanceRefreshesCommand).callsFake((input: { InstanceRefreshIds: string[] }) => ({
      InstanceRefreshes: [
        {
          InstanceRefreshId: input.InstanceRefreshIds[0],
          Status: input.InstanceRefreshIds[0] === 'r-api' ? 'Failed' : 'Successful',
          StatusReason: 'health checks failed',
        },
      ],
    }));
    await expect(run(all)).rejects.toThrow(
      '1 of 2 Auto Scaling group(s) failed:\n- api: Instance Refresh r-api ended Failed: health checks failed',
    );
    expect(outputs.has('instance-refreshes')).toBe(true);
    expect(summary()).toContain('### Errors');
    expect(log.lines).toContain('error [api] Instance Refresh r-api ended Failed: health checks failed');
  });

  it('cleanup: runs cleanup with the config and sets the cleaned output', async () => {
    const runCleanup = vi.fn(async () => ({
      ...emptyCleanup,
      deleted: [{ kind: 'ami' as const, id: 'ami-1', reason: 'old', dryRun: true }],
    }));
    const config = testConfig({
      command: 'cleanup',
      cleanup: { keep: 3, orphanAgeMinutes: 60, dryRun: true },
    });
    const { all, outputs } = deps(config, { runCleanup });
    await run(all);
    expect(runCleanup).toHaveBeenCalledWith(
      { selection: config.selection, keep: 3, orphanAgeMinutes: 60, dryRun: true, runId: '42-1' },
      expect.anything(),
    );
    expect(JSON.parse(outputs.get('cleaned') ?? '[]')).toEqual([
      { kind: 'ami', id: 'ami-1', reason: 'old', dryRun: true },
    ]);
  });

  it('cleanup: fails the step when deletions failed', async () => {
    const runCleanup = vi.fn(async () => ({
      ...emptyCleanup,
      failures: [{ id: 'ami-1', kind: 'ami', error: 'in use' }],
    }));
    const { all } = deps(testConfig({ command: 'cleanup' }), { runCleanup });
    await expect(run(all)).rejects.toThrow('Cleanup could not delete 1 item(s): ami ami-1: in use');
  });

  it('wait-idle: waits on the selected groups with the refresh timeout', async () => {
    const waitIdle = vi.fn(async () => undefined);
    const { all } = deps(testConfig({ command: 'wait-idle' }), { waitIdle });
    await run(all);
    expect(waitIdle).toHaveBeenCalledWith(
      { groups: ['api', 'web'], timeoutSeconds: 3600, pollMs: 10_000 },
      expect.anything(),
    );
  });
});

describe('an empty selection', () => {
  it.each(['deploy', 'refresh', 'wait-idle', 'cleanup'] as const)(
    '%s: fails naming the selection instead of passing silently',
    async (command) => {
      const waitIdle = vi.fn(async () => undefined);
      const runCleanup = vi.fn(async () => emptyCleanup);
      const { all, asg } = deps(
        testConfig({
          command,
          selection: {
            names: [],
            tags: [
              { key: 'app', value: 'shpo' },
              { key: 'env', value: 'prod' },
            ],
          },
        }),
        { waitIdle, runCleanup },
      );
      asg.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
      await expect(run(all)).rejects.toThrow('No Auto Scaling group matches asg-tags app=shpo, env=prod');
      expect(waitIdle).not.toHaveBeenCalled();
      expect(runCleanup).not.toHaveBeenCalled();
    },
  );
});

describe('poll intervals', () => {
  it('are the defaults scaled by the poll scale of the config', async () => {
    const base = testConfig({ command: 'wait-idle' });
    const waitIdle = vi.fn(async () => undefined);
    const { all } = deps({ ...base, run: { ...base.run, pollScale: 0.01 } }, { waitIdle });
    await run(all);
    expect(waitIdle).toHaveBeenCalledWith(expect.objectContaining({ pollMs: 100 }), expect.anything());
  });
});
