/**
 * `npm run bench -- --quick` end to end, so the benchmark cannot rot: the bundled action deploys
 * 1 and 4 groups (and 4 serially) through the simulator and a real sshd, every refresh ends
 * Successful, and the report has its tables. No timing is asserted: this machine is shared and
 * noisy; performance claims come only from the ratios within one full benchmark run.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/action-runner.js';
import { sshdAvailable } from '../helpers/sshd.js';
import { MainColumns } from '../bench/table.js';

function runQuickBench(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/bench.ts', '--quick'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const cells = (line: string): string[] =>
  line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());

describe.skipIf(!sshdAvailable())('npm run bench -- --quick', () => {
  it('deploys every group of every scenario and prints the tables', { timeout: 300_000 }, async () => {
    const { code, stdout, stderr } = await runQuickBench();
    expect(code, stderr).toBe(0);

    // Progress: every scenario rolled out every group and deployed to every instance.
    for (const label of ['N=1', 'N=4', 'N=4 serial']) {
      const n = Number(/N=(\d+)/.exec(label)?.[1]);
      expect(stderr).toMatch(
        new RegExp(
          `^${label}: wall [\\d.]+ s, ideal [\\d.]+ s, ${n}/${n} refreshes Successful, ${n} deployed$`,
          'm',
        ),
      );
    }

    // The recovery runs rolled every group out again and baked nothing.
    for (const label of ['N=4 rollback', 'N=4 reused'])
      expect(stderr).toMatch(
        new RegExp(`^${label}: wall [\\d.]+ s, ideal [\\d.]+ s, 4/4 refreshes Successful, 0 baked$`, 'm'),
      );

    // The main table: expected columns, one row per scenario, no failed group, numbers where numbers go.
    const lines = stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('| run '));
    expect(cells(lines[header] ?? '')).toEqual([...MainColumns]);
    const rows = lines.slice(header + 2, header + 7).map(cells);
    const column = (name: (typeof MainColumns)[number]): number => MainColumns.indexOf(name);
    expect(rows.map((r) => [r[column('run')], r[column('N')], r[column('max-parallel')]])).toEqual([
      ['deploy', '1', '1'],
      ['deploy', '4', '4'],
      ['deploy', '4', '1'],
      ['rollback', '4', '4'],
      ['deploy (image reused)', '4', '4'],
    ]);
    for (const row of rows) {
      expect(row[column('failed groups')]).toBe('0');
      expect(row[column('throttle')]).toBe('off');
      for (const name of ['wall s', 'ideal s', 'wall/ideal', 'calls/group', 'peak RSS MiB', 'CPU s'] as const)
        expect(Number(row[column(name)]), name).toBeGreaterThan(0);
    }
    expect(Number(rows[1]?.[column('serial/parallel')])).toBeGreaterThan(0);

    // The API cost and the stage lag tables, one column per scenario.
    expect(stdout).toMatch(/^\| action +\| N=1 +\| N=4 +\| N=4 serial +\| N=4 rollback +\| N=4 reused +\|$/m);
    // A recovery run launches and images nothing: it only refreshes.
    expect(stdout).toMatch(/^\| RunInstances +\| 1\.00 +\| 1\.00 +\| 1\.00 +\| 0\.00 +\| 0\.00 +\|$/m);
    expect(stdout).toMatch(/^\| CreateImage +\| 1\.00 +\| 1\.00 +\| 1\.00 +\| 0\.00 +\| 0\.00 +\|$/m);
    expect(stdout).toMatch(/^\| StartInstanceRefresh +(\| 1\.00 +){5}\|$/m);
    expect(stdout).toMatch(/^\| refresh ended → seen \(refresh poll\) +\| max\(10, N\/10\) +\|/m);
    // Every stage of every deploy row was traced (the lags join the call log, the outputs and the
    // action's timeline: a renamed output field shows here as "– / –").
    const lagHeader = lines.findIndex((l) => l.startsWith('| stage lag'));
    const lagRows = lines.slice(lagHeader + 2, lagHeader + 10).map(cells);
    expect(lagRows).toHaveLength(8);
    for (const row of lagRows)
      for (const value of row.slice(2)) expect(value, row[0]).toMatch(/^-?\d+\.\d \/ -?\d+\.\d$/);
  });
});
