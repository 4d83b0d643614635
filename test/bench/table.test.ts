import { describe, expect, it } from 'vitest';
import { callStats } from './calls.js';
import { scenarios, FullRun, QuickRun } from './bench.js';
import { parseCpuTicks, parsePeakRss } from './process-stats.js';
import {
  callsTable,
  failedGroups,
  lagTable,
  recoveryTable,
  mainTable,
  MainColumns,
  markdownTable,
  scenarioLabel,
  serialRatio,
  type TableRow,
} from './table.js';
import type { CallRecord } from '../sim/index.js';

function record(action: string, outcome: CallRecord['outcome'] = 'ok', code?: string): CallRecord {
  return { seq: 0, time: '', service: 'ec2', action, params: {}, outcome, status: 200, ms: 1, code };
}

function row(overrides: Partial<TableRow>): TableRow {
  const n = overrides.n ?? 4;
  return {
    n,
    maxParallel: n,
    throttle: false,
    kind: 'deploy',
    bakes: n,
    wallMs: 11_000,
    idealMs: 10_000,
    exitCode: 0,
    successful: n,
    deployed: n,
    calls: callStats([record('RunInstances'), record('DescribeImages'), record('DescribeImages')]),
    peakRssKiB: 200 * 1024,
    cpuMs: 1_500,
    lags: [{ running: 20, refresh: 100 }],
    headMs: 400,
    tailMs: 100,
    ...overrides,
  };
}

const cells = (line: string): string[] =>
  line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());

describe('callStats', () => {
  it('counts requests by action, throttled answers and other errors by code', () => {
    const stats = callStats([
      record('DescribeInstances'),
      record('DescribeInstances', 'throttled', 'RequestLimitExceeded'),
      record('StartInstanceRefresh', 'error', 'InstanceRefreshInProgress'),
    ]);
    expect(stats).toEqual({
      total: 3,
      byAction: { DescribeInstances: 2, StartInstanceRefresh: 1 },
      throttled: 1,
      errors: 1,
      errorCodes: { InstanceRefreshInProgress: 1 },
    });
  });

  it("counts a preflight's DryRun requests apart, and its DryRunOperation answers as no error", () => {
    const dryRun = { ...record('RunInstances', 'error', 'DryRunOperation'), params: { DryRun: true } };
    const denied = { ...record('RunInstances', 'error', 'UnauthorizedOperation'), params: { DryRun: true } };
    const stats = callStats([dryRun, denied, record('RunInstances')]);
    expect(stats.byAction).toEqual({ 'RunInstances (DryRun)': 2, RunInstances: 1 });
    expect(stats.errorCodes).toEqual({ UnauthorizedOperation: 1 });
  });
});

describe('markdownTable', () => {
  it('pads columns to the widest cell', () => {
    expect(markdownTable(['a', 'bb'], [['long', '1']])).toBe(
      ['| a    | bb |', '|------|----|', '| long | 1  |'].join('\n'),
    );
  });
});

describe('mainTable', () => {
  it('has the documented columns and one row per scenario with computed ratios', () => {
    const rows = [row({ n: 4 }), row({ n: 4, maxParallel: 1, wallMs: 33_000 })];
    const lines = mainTable(rows).split('\n');
    expect(cells(lines[0]!)).toEqual([...MainColumns]);
    expect(lines).toHaveLength(4);
    const parallel = Object.fromEntries(MainColumns.map((c, i) => [c, cells(lines[2]!)[i]]));
    expect(parallel).toMatchObject({
      N: '4',
      'wall s': '11.00',
      'ideal s': '10.00',
      'wall/ideal': '1.100',
      'serial/parallel': '3.00',
      'calls/group': '0.8',
      'failed groups': '0',
      'peak RSS MiB': '200',
      'CPU s': '1.5',
    });
    expect(cells(lines[3]!)[MainColumns.indexOf('serial/parallel')]).toBe('–');
  });
});

describe('failedGroups and serialRatio', () => {
  it('counts groups without both a Successful refresh and a deploy; a failed exit is at least one', () => {
    const deploy = { kind: 'deploy', bakes: 4 } as const;
    expect(failedGroups({ ...deploy, n: 4, successful: 4, deployed: 3, exitCode: 0 })).toBe(1);
    expect(failedGroups({ ...deploy, n: 4, successful: 2, deployed: 4, exitCode: 1 })).toBe(2);
    expect(failedGroups({ ...deploy, n: 4, successful: 4, deployed: 4, exitCode: 1 })).toBe(1);
  });

  it('a recovery run needs only Successful refreshes, and fails whole when it baked anything', () => {
    expect(failedGroups({ kind: 'rollback', bakes: 0, n: 4, successful: 4, deployed: 0, exitCode: 0 })).toBe(
      0,
    );
    expect(failedGroups({ kind: 'reused', bakes: 0, n: 4, successful: 3, deployed: 0, exitCode: 0 })).toBe(1);
    expect(failedGroups({ kind: 'reused', bakes: 1, n: 4, successful: 4, deployed: 0, exitCode: 0 })).toBe(4);
  });

  it('pairs a parallel run with the serial run of the same N only', () => {
    const parallel = row({ n: 4, wallMs: 10_000 });
    const serial = row({ n: 4, maxParallel: 1, wallMs: 25_000 });
    expect(serialRatio(parallel, [parallel, serial])).toBe(2.5);
    expect(serialRatio(parallel, [parallel, row({ n: 16, maxParallel: 1 })])).toBeUndefined();
    expect(serialRatio(serial, [parallel, serial])).toBeUndefined();
  });
});

describe('recoveryTable', () => {
  it('splits each recovery run into head, refreshes and tail, in simulated seconds, beside the ideal', () => {
    const lines = recoveryTable(
      [row({}), row({ kind: 'rollback', wallMs: 100, headMs: 20, tailMs: 5, idealMs: 70 })],
      0.01,
    ).split('\n');
    expect(cells(lines[0]!)).toEqual(['recovery run, simulated s', 'N=4 rollback']);
    expect(lines.slice(2).map((l) => cells(l).at(-1))).toEqual(['2.0', '7.5', '0.5', '10.0', '7.0']);
    expect(recoveryTable([row({})], 0.01)).toBe('');
  });
});

describe('callsTable and lagTable', () => {
  it('divides requests by N, one column per scenario', () => {
    const table = callsTable([row({ n: 1 }), row({ n: 4, throttle: true })]);
    const lines = table.split('\n');
    expect(cells(lines[0]!)).toEqual(['action', 'N=1', 'N=4 throttled']);
    expect(cells(lines.find((l) => l.includes('DescribeImages'))!)).toEqual([
      'DescribeImages',
      '2.00',
      '0.50',
    ]);
    expect(cells(lines.at(-1)!)).toEqual(['all', '3.00', '0.75']);
  });

  it('shows lags in simulated seconds next to the poll interval, for deploy runs only', () => {
    const lines = lagTable([row({}), row({ kind: 'rollback' })], 0.01).split('\n');
    expect(cells(lines[0]!)).toEqual(['stage lag, simulated s (mean / max)', 'poll s', 'N=4']);
    // 20 real ms at 0.01 = 2 simulated s; the instance poll is every 2 s.
    expect(cells(lines.find((l) => l.startsWith('| running'))!)).toEqual([
      'running → seen (instance poll)',
      '2',
      '2.0 / 2.0',
    ]);
    expect(cells(lines.find((l) => l.startsWith('| refresh'))!)).toEqual([
      'refresh ended → seen (refresh poll)',
      'max(10, N/10)',
      '10.0 / 10.0',
    ]);
    expect(cells(lines.find((l) => l.startsWith('| start'))!).at(-1)).toBe('40.0');
    expect(cells(lines.find((l) => l.startsWith('| stopped'))!).at(-1)).toBe('– / –');
  });

  it('labels scenarios', () => {
    const kind = 'deploy' as const;
    expect(scenarioLabel({ n: 256, maxParallel: 256, throttle: true, kind })).toBe('N=256 throttled');
    expect(scenarioLabel({ n: 4, maxParallel: 1, throttle: false, kind })).toBe('N=4 serial');
    expect(scenarioLabel({ n: 16, maxParallel: 8, throttle: false, kind })).toBe('N=16 mp=8');
    expect(scenarioLabel({ n: 16, maxParallel: 16, throttle: false, kind: 'rollback' })).toBe(
      'N=16 rollback',
    );
  });
});

describe('scenarios', () => {
  it('runs every size in parallel, small ones serially too, and the throttled size last', () => {
    expect(scenarios(FullRun).map(scenarioLabel)).toEqual([
      'N=1',
      'N=4',
      'N=16',
      'N=64',
      'N=256',
      'N=4 serial',
      'N=256 throttled',
      'N=16 rollback',
      'N=16 reused',
    ]);
    expect(scenarios(QuickRun).map(scenarioLabel)).toEqual([
      'N=1',
      'N=4',
      'N=4 serial',
      'N=4 rollback',
      'N=4 reused',
    ]);
  });
});

describe('process stats', () => {
  it('reads VmHWM and utime + stime', () => {
    expect(parsePeakRss('Name:\tnode\nVmPeak:\t  999 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 1000 kB\n')).toBe(
      204_800,
    );
    expect(parsePeakRss('Name:\tnode\n')).toBeUndefined();
    // pid (comm with spaces) state ppid … utime=14th, stime=15th field.
    const stat = '42 (node worker 1) S 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0';
    expect(parseCpuTicks(stat)).toBe(300);
  });
});
