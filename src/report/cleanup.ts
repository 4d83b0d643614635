/**
 * How a cleanup reads to people (the job summary table) and to later steps (the `cleaned` output).
 * The report module calls these; keeping them here leaves cleanup's wording next to its data.
 */
import type { CleanedItem, CleanupReport } from './records.js';
import { cell } from './summary.js';

/** Rows shown in the summary; the job summary is capped at 1 MiB and a person reads far less. */
const MaxRows = 300;

/** Kinds in the order a reader thinks of them: the launch template first, then what hangs off it. */
const KindOrder = ['launch-template-version', 'ami', 'snapshot', 'instance', 'volume'];

/**
 * The cleanup section of the job summary: failures first, then one row per deletion (or would-be
 * deletion) and per item kept because it is still needed, each with its reason.
 */
export function cleanupSummaryMarkdown(report: CleanupReport): string {
  const dryRun = report.deleted.some((item) => item.dryRun);
  const lines: string[] = [`### Cleanup${dryRun ? ' (dry run: nothing was changed)' : ''}`, ''];
  const deleted = report.deleted.length;
  lines.push(
    `${deleted} ${dryRun ? 'would be deleted' : 'deleted'}, ${report.kept.length} kept, ` +
      `${report.failures.length} failed.`,
    '',
  );
  if (deleted + report.kept.length + report.failures.length === 0) {
    lines.push('Nothing to clean up.');
    return `${lines.join('\n')}\n`;
  }
  lines.push('| kind | id | action | reason |', '| --- | --- | --- | --- |');
  for (const failure of report.failures) {
    lines.push(`| ${cell(failure.kind)} | ${cell(failure.id)} | **failed** | ${cell(failure.error)} |`);
  }
  const rows = [
    ...sorted(report.deleted).map((item) =>
      row(item.kind, item.id, item.dryRun ? 'would delete' : 'deleted', item.reason),
    ),
    ...sorted(report.kept).map((item) => row(item.kind, item.id, 'kept', item.reason)),
  ];
  lines.push(...rows.slice(0, MaxRows));
  if (rows.length > MaxRows) {
    lines.push(
      '',
      `…and ${rows.length - MaxRows} more rows: the \`cleaned\` output and the log list them all.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The `cleaned` output: every deletion or, under dry-run, would-be deletion. */
export function cleanedOutput(report: CleanupReport): CleanedItem[] {
  return report.deleted.map((item) => ({
    kind: item.kind,
    id: item.id,
    reason: item.reason,
    dryRun: item.dryRun,
  }));
}

function sorted<T extends { kind: string; id: string }>(items: readonly T[]): T[] {
  return [...items].sort(
    (a, b) =>
      KindOrder.indexOf(a.kind) - KindOrder.indexOf(b.kind) ||
      a.id.localeCompare(b.id, 'en', { numeric: true }),
  );
}

function row(...cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}
