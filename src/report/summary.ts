/**
 * What a run tells people and later steps: the JSON outputs of action.yml, and a job summary with
 * errors first, a row per group (old image → new AMI, template version, refresh and its time, links
 * to the AWS console) and a gantt of the phases. Pipelines record into one RunReport as they go, so a
 * failed or cancelled run still has everything that happened up to then.
 */
import type { RefreshRecord } from './records.js';
import type { TemporaryInstance } from '../config/hand-off.js';
import { Outputs } from '../lib/constants.js';
import type { Span } from './timeline.js';

export interface AmiOutput {
  readonly imageId: string;
  readonly sourceImageId: string;
  readonly groups: readonly string[];
  /**
   * Set when the run rolled out an existing AMI instead of baking (a reuse, a rollback): the id of
   * the run that baked it, '' when no run of ours did.
   */
  readonly reusedFromRun?: string;
}

export interface VersionOutput {
  readonly launchTemplateId: string;
  readonly version: number;
  readonly imageId: string;
  readonly groups: readonly string[];
}

/** One group's row; filled in as its pipeline advances. */
export interface GroupRow {
  readonly group: string;
  sourceImageId?: string;
  launchTemplateId?: string;
  sourceVersion?: number;
  refresh?: RefreshRecord;
  error?: string;
}

/** Everything a run produced, in the order it happened. */
export class RunReport {
  readonly instances: TemporaryInstance[] = [];
  readonly amis: AmiOutput[] = [];
  readonly versions: VersionOutput[] = [];
  private readonly rows = new Map<string, GroupRow>();

  /** The row of a group, created on first use so every group the run touched appears. */
  row(group: string): GroupRow {
    let row = this.rows.get(group);
    if (!row) {
      row = { group };
      this.rows.set(group, row);
    }
    return row;
  }

  /** Records a group's failure; the first cause wins, since later ones follow from it. */
  fail(group: string, error: string): void {
    const row = this.row(group);
    row.error ??= error;
  }

  /** The new AMI made (or reused) for a group, if any. */
  amiOf(group: string): string | undefined {
    return this.amiRecordOf(group)?.imageId;
  }

  /** The AMI record of a group, if any. */
  amiRecordOf(group: string): AmiOutput | undefined {
    return this.amis.find((a) => a.groups.includes(group));
  }

  /** The new launch template version made for a group, if any. */
  newVersionOf(group: string): number | undefined {
    return this.versions.find((v) => v.groups.includes(group))?.version;
  }

  addRefresh(record: RefreshRecord): void {
    this.row(record.group).refresh = record;
  }

  /** Groups in a stable order (by name), for outputs and the summary. */
  groups(): GroupRow[] {
    return [...this.rows.values()].sort((a, b) => a.group.localeCompare(b.group));
  }

  failures(): { group: string; error: string }[] {
    return this.groups().flatMap((row) => (row.error ? [{ group: row.group, error: row.error }] : []));
  }

  /** The outputs of action.yml a deploy writes (cleanup's `cleaned` is its own), each a JSON value. */
  outputs(): Record<Exclude<Outputs, Outputs.Cleaned | Outputs.Plan>, string> {
    const refreshes = this.groups().flatMap((row) => (row.refresh ? [row.refresh] : []));
    return {
      [Outputs.Instances]: JSON.stringify(this.instances),
      [Outputs.Amis]: JSON.stringify(this.amis),
      [Outputs.LaunchTemplateVersions]: JSON.stringify(this.versions),
      [Outputs.InstanceRefreshes]: JSON.stringify(refreshes),
    };
  }
}

/** The message main.run throws when groups failed: every group and its cause, one per line. */
export function failureMessage(report: RunReport): string | undefined {
  const failures = report.failures();
  if (failures.length === 0) return undefined;
  const total = report.groups().length;
  return [
    `${failures.length} of ${total} Auto Scaling group(s) failed:`,
    ...failures.map((f) => `- ${f.group}: ${f.error}`),
  ].join('\n');
}

/** Links into the AWS console of the run's region. */
export const consoleLinks = {
  ami: (region: string, id: string): string =>
    `https://${region}.console.aws.amazon.com/ec2/home?region=${region}#ImageDetails:imageId=${id}`,
  launchTemplate: (region: string, id: string): string =>
    `https://${region}.console.aws.amazon.com/ec2/home?region=${region}#LaunchTemplateDetails:launchTemplateId=${id}`,
  refreshes: (region: string, group: string): string =>
    `https://${region}.console.aws.amazon.com/ec2/home?region=${region}#AutoScalingGroupDetails:id=${encodeURIComponent(group)};view=instanceRefresh`,
};

/**
 * Text for a Markdown table cell, list item or link text. Names, reasons, AWS messages and remote
 * stderr quote text we do not control, and the summary is rendered as GitHub-flavoured Markdown:
 * Markdown's own punctuation is backslash-escaped (so `[Approve](https://…)` or `![x](…)` stays
 * text), bare URLs are broken so they are not auto-linked, `&`, `<`, `>` become entities (no
 * HTML), and newlines are flattened (a table row is one line).
 */
export function cell(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/[\\`*_[\]()!~|#]/g, (c) => `\\${c}`)
    .replace(/:\/\/|\bwww\./gi, (m) => `${m.slice(0, 1)}\u200b${m.slice(1)}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

function link(text: string, url: string | undefined): string {
  return url ? `[${cell(text)}](${url})` : cell(text);
}

export interface SummaryOptions {
  readonly title: string;
  /** Empty when unknown: no console links then. */
  readonly region: string;
  readonly spans: readonly Span[];
  /** Extra sections (cleanup) appended as given. */
  readonly sections?: readonly string[];
  /** Errors not tied to a group (discovery, cleanup). */
  readonly errors?: readonly string[];
}

/** The job summary as Markdown: errors first, then one row per group, then the timeline. */
export function summaryMarkdown(report: RunReport, options: SummaryOptions): string {
  const { region } = options;
  const lines: string[] = [`## ${options.title}`, ''];
  const failures = report.failures();
  const errors = [
    ...(options.errors ?? []).map(cell),
    ...failures.map((f) => `**${cell(f.group)}**: ${cell(f.error)}`),
  ];
  if (errors.length > 0) {
    lines.push('### Errors', '', ...errors.map((e) => `- ${e}`), '');
  }
  const rows = report.groups();
  if (rows.length > 0) {
    lines.push(
      '| Group | Image → new AMI | Launch template version | Instance Refresh | Status | Time |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const row of rows) {
      const record = report.amiRecordOf(row.group);
      const amiId = record?.imageId;
      const linked = amiId ? link(amiId, region ? consoleLinks.ami(region, amiId) : undefined) : '–';
      const ami =
        record?.reusedFromRun !== undefined
          ? `reused ${linked}${record.reusedFromRun ? ` (baked by run ${cell(record.reusedFromRun)})` : ''}`
          : linked;
      const template = row.launchTemplateId
        ? `${link(row.launchTemplateId, region ? consoleLinks.launchTemplate(region, row.launchTemplateId) : undefined)} ` +
          `${row.sourceVersion ?? '?'} → ${report.newVersionOf(row.group) ?? '–'}`
        : '–';
      const refresh = row.refresh
        ? link(row.refresh.instanceRefreshId, region ? consoleLinks.refreshes(region, row.group) : undefined)
        : '–';
      const status = row.error
        ? `❌ ${cell(row.refresh?.status ?? 'failed')}`
        : row.refresh?.status === 'Successful'
          ? '✅ Successful'
          : cell(row.refresh?.status ?? '–');
      lines.push(
        `| ${cell(row.group)} | ${cell(row.sourceImageId ?? '–')} → ${ami} | ${template} | ${refresh} | ${status} | ${
          row.refresh ? formatSeconds(row.refresh.seconds) : '–'
        } |`,
      );
    }
    lines.push('');
  }
  const gantt = ganttMarkdown(options.spans);
  if (gantt) lines.push('### Timeline', '', gantt, '');
  for (const section of options.sections ?? []) lines.push(section, '');
  return lines.join('\n');
}

/** `75` → `1m 15s`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return s ? `${m}m ${s}s` : `${m}m`;
}

/**
 * Mermaid reserves `:`, `#` and `;` in gantt lines; a backtick or a line break could end the
 * fenced block and let a name write Markdown of its own.
 */
function ganttText(text: string): string {
  return text.replace(/[:#;`\r\n]/g, ' ').trim() || '?';
}

/** A Mermaid gantt of the recorded phases, one section per pipeline; failed phases are marked `crit`. */
export function ganttMarkdown(spans: readonly Span[]): string {
  const finished = spans.filter((s) => s.end !== undefined);
  if (finished.length === 0) return '';
  const lanes = [...new Set(finished.map((s) => s.lane))];
  const lines = ['```mermaid', 'gantt', '  dateFormat x', '  axisFormat %H:%M:%S'];
  let n = 0;
  for (const lane of lanes) {
    lines.push(`  section ${ganttText(lane)}`);
    for (const span of finished.filter((s) => s.lane === lane)) {
      const tag = span.ok ? 'done' : 'crit';
      // Mermaid draws nothing for zero-length tasks.
      const end = Math.max(span.end ?? span.start, span.start + 1);
      lines.push(`  ${ganttText(span.phase)} :${tag}, p${n++}, ${span.start}, ${end}`);
    }
  }
  lines.push('```');
  return lines.join('\n');
}
