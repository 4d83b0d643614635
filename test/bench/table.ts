/**
 * The benchmark's report: Markdown tables (readable in a terminal and in RESULTS.md), built from
 * scenario results only, so they are pure and unit-tested.
 */
import { RefreshPollBudget } from '../../src/aws/refreshes.js';
import { DefaultPollIntervals } from '../../src/phases/context.js';
import type { CallStats } from './calls.js';
import type { RunKind } from './measure.js';
import { LagNames, summarizeLags, type GroupLags, type LagName } from './lag.js';

/** What the tables need of a scenario (a subset of ScenarioResult). */
export interface TableRow {
  readonly n: number;
  readonly maxParallel: number;
  readonly throttle: boolean;
  readonly kind: RunKind;
  /** CreateImage requests of the run. */
  readonly bakes: number;
  readonly wallMs: number;
  readonly idealMs: number;
  readonly exitCode: number | null;
  readonly successful: number;
  readonly deployed: number;
  readonly calls: CallStats;
  readonly peakRssKiB: number;
  readonly cpuMs: number;
  readonly lags: readonly GroupLags[];
  readonly headMs: number;
  readonly tailMs: number;
}

/** The columns of the main table, in order (the quick end-to-end test checks them). */
export const MainColumns = [
  'run',
  'N',
  'max-parallel',
  'throttle',
  'wall s',
  'ideal s',
  'wall/ideal',
  'serial/parallel',
  'calls/group',
  'throttled',
  'retried',
  'failed groups',
  'peak RSS MiB',
  'CPU s',
] as const;

/** A Markdown table; every cell is already text. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** What each kind of run is called in the tables. */
export const RunNames: Readonly<Record<RunKind, string>> = {
  deploy: 'deploy',
  rollback: 'rollback',
  reused: 'deploy (image reused)',
};

/** Short name of a scenario: `N=64`, `N=4 serial`, `N=256 throttled`, `N=16 rollback`. */
export function scenarioLabel(row: Pick<TableRow, 'n' | 'maxParallel' | 'throttle' | 'kind'>): string {
  const serial =
    row.maxParallel < row.n ? (row.maxParallel === 1 ? ' serial' : ` mp=${row.maxParallel}`) : '';
  const kind = row.kind === 'deploy' ? '' : ` ${row.kind}`;
  return `N=${row.n}${serial}${row.throttle ? ' throttled' : ''}${kind}`;
}

const fixed = (value: number, digits: number): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '–';

/**
 * Groups that did not end with a Successful refresh and a logged deploy; for a recovery run, that
 * did not end with a Successful refresh, or all of them when the run baked anything.
 */
export function failedGroups(
  row: Pick<TableRow, 'n' | 'successful' | 'deployed' | 'exitCode' | 'kind' | 'bakes'>,
): number {
  const done = row.kind === 'deploy' ? Math.min(row.successful, row.deployed) : row.successful;
  const failed = row.kind !== 'deploy' && row.bakes > 0 ? row.n : row.n - done;
  return row.exitCode === 0 ? failed : Math.max(failed, 1);
}

/** Wall time of the serial run over the parallel one at the same N and throttle, if both ran. */
export function serialRatio(row: TableRow, all: readonly TableRow[]): number | undefined {
  if (row.maxParallel < row.n) return undefined;
  const serial = all.find(
    (r) =>
      r.n === row.n && r.throttle === row.throttle && r.kind === row.kind && r.maxParallel === 1 && r.n > 1,
  );
  return serial ? serial.wallMs / row.wallMs : undefined;
}

/** N, wall, ideal, their ratio, serial/parallel, API cost, throttling, failures, memory, CPU. */
export function mainTable(rows: readonly TableRow[]): string {
  return markdownTable(
    MainColumns,
    rows.map((row) => [
      RunNames[row.kind],
      String(row.n),
      String(row.maxParallel),
      row.throttle ? 'on' : 'off',
      fixed(row.wallMs / 1000, 2),
      fixed(row.idealMs / 1000, 2),
      fixed(row.wallMs / row.idealMs, 3),
      fixed(serialRatio(row, rows) ?? Number.NaN, 2),
      fixed(row.calls.total / row.n, 1),
      String(row.calls.throttled),
      String(row.calls.throttled + row.calls.errors),
      String(failedGroups(row)),
      fixed(row.peakRssKiB / 1024, 0),
      fixed(row.cpuMs / 1000, 1),
    ]),
  );
}

/** Requests per group by action, one column per scenario: batched polls fall as N grows. */
export function callsTable(rows: readonly TableRow[]): string {
  const actions = [...new Set(rows.flatMap((r) => Object.keys(r.calls.byAction)))].sort();
  return markdownTable(
    ['action', ...rows.map(scenarioLabel)],
    [
      ...actions.map((action) => [
        action,
        ...rows.map((r) => fixed((r.calls.byAction[action] ?? 0) / r.n, 2)),
      ]),
      ['all', ...rows.map((r) => fixed(r.calls.total / r.n, 2))],
    ],
  );
}

/**
 * The poll interval (simulated s) that bounds each lag, where one does. The refresh poll's period
 * grows with the groups it watches (one request per group, RefreshPollBudget).
 */
export const LagBound: Readonly<Record<LagName, number | string | undefined>> = {
  running: DefaultPollIntervals.instanceMs / 1000,
  ssh: DefaultPollIntervals.sshMs / 1000,
  deploy: undefined,
  afterDeploy: undefined,
  stopped: DefaultPollIntervals.instanceMs / 1000,
  image: DefaultPollIntervals.imageMs / 1000,
  handoff: undefined,
  refresh: `max(${DefaultPollIntervals.refreshMs / 1000}, N/${RefreshPollBudget.requestsPerPeriod / (DefaultPollIntervals.refreshMs / 1000)})`,
};

const LagTitles: Readonly<Record<LagName, string>> = {
  running: 'running → seen (instance poll)',
  ssh: 'sshd up → SSH wait over (probe)',
  deploy: 'deploy over one alone (contention)',
  afterDeploy: 'deploy done → StopInstances',
  stopped: 'stopped → CreateImage',
  image: 'AMI available → next call (image poll)',
  handoff: 'terminate → StartInstanceRefresh (slot)',
  refresh: 'refresh ended → seen (refresh poll)',
};

/**
 * Detection lag per stage in simulated seconds, `mean / max` over the groups, next to the poll
 * interval that bounds it; plus the time before the first launch and after the last refresh.
 */
export function lagTable(all: readonly TableRow[], timeScale: number): string {
  // A recovery run has one stage, the refresh: its lags say nothing the main table does not.
  const rows = all.filter((r) => r.kind === 'deploy');
  const sim = (ms: number): string => fixed(ms / timeScale / 1000, 1);
  const body = LagNames.map((name) => {
    const bound = LagBound[name];
    return [
      LagTitles[name],
      bound === undefined ? '–' : String(bound),
      ...rows.map((r) => {
        const s = summarizeLags(r.lags)[name];
        return `${sim(s.mean)} / ${sim(s.max)}`;
      }),
    ];
  });
  return markdownTable(
    ['stage lag, simulated s (mean / max)', 'poll s', ...rows.map(scenarioLabel)],
    [
      ...body,
      ['start → first RunInstances (process, discovery)', '–', ...rows.map((r) => sim(r.headMs))],
      ['last refresh seen → exit (cleanup, summary)', '–', ...rows.map((r) => sim(r.tailMs))],
    ],
  );
}

/**
 * Where a recovery run's wall time goes, simulated s: before its first refresh (process start,
 * discovery, the target choice, preflight, new versions), the refreshes until the last one was
 * seen ended, and after it (the summary, the exit); beside the ideal (slowest refresh + one poll).
 */
export function recoveryTable(all: readonly TableRow[], timeScale: number): string {
  const rows = all.filter((r) => r.kind !== 'deploy');
  if (rows.length === 0) return '';
  const sim = (ms: number): string => fixed(ms / timeScale / 1000, 1);
  return markdownTable(
    ['recovery run, simulated s', ...rows.map(scenarioLabel)],
    [
      [
        'start → first StartInstanceRefresh (process, discovery, plan, versions)',
        ...rows.map((r) => sim(r.headMs)),
      ],
      [
        'first StartInstanceRefresh → last refresh seen',
        ...rows.map((r) => sim(r.wallMs - r.headMs - r.tailMs)),
      ],
      ['last refresh seen → exit (summary)', ...rows.map((r) => sim(r.tailMs))],
      ['wall', ...rows.map((r) => sim(r.wallMs))],
      ['ideal (slowest refresh + one poll)', ...rows.map((r) => sim(r.idealMs))],
    ],
  );
}
