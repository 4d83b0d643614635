import { describe, expect, it } from 'vitest';
import type { CleanupReport } from '../../../src/report/records.js';
import { cleanedOutput, cleanupSummaryMarkdown } from '../../../src/report/cleanup.js';
import { cell } from '../../../src/report/summary.js';

const report: CleanupReport = {
  deleted: [
    { kind: 'snapshot', id: 'snap-1', reason: 'snapshot of ami-1, deregistered', dryRun: false },
    { kind: 'launch-template-version', id: 'lt-a:10', reason: 'old', dryRun: false },
    { kind: 'launch-template-version', id: 'lt-a:9', reason: 'old', dryRun: false },
    { kind: 'ami', id: 'ami-1', reason: 'older than the newest 5 AMIs for lt-a', dryRun: false },
  ],
  kept: [{ kind: 'ami', id: 'ami-2', reason: 'used by group web|blue (LaunchTemplate, $Latest → lt-a:12)' }],
  failures: [{ kind: 'snapshot', id: 'snap-2', error: 'InvalidSnapshot.InUse: <in use>' }],
};

describe('cell', () => {
  it('escapes what would break a table or render as markup, for every table of the summary', () => {
    expect(cell('a|b\r\nc\nd <b>&amp;</b>')).toBe('a\\|b c d &lt;b&gt;&amp;amp;&lt;/b&gt;');
  });
});

describe('cleanupSummaryMarkdown', () => {
  it('puts failures first, then deletions by kind and natural id order, then what was kept', () => {
    const lines = cleanupSummaryMarkdown(report).trim().split('\n');
    expect(lines[0]).toBe('### Cleanup');
    expect(lines[2]).toBe('4 deleted, 1 kept, 1 failed.');
    expect(lines.slice(4)).toEqual([
      '| kind | id | action | reason |',
      '| --- | --- | --- | --- |',
      '| snapshot | snap-2 | **failed** | InvalidSnapshot.InUse: &lt;in use&gt; |',
      '| launch-template-version | lt-a:9 | deleted | old |',
      '| launch-template-version | lt-a:10 | deleted | old |',
      '| ami | ami-1 | deleted | older than the newest 5 AMIs for lt-a |',
      '| snapshot | snap-1 | deleted | snapshot of ami-1, deregistered |',
      '| ami | ami-2 | kept | used by group web\\|blue \\(LaunchTemplate, $Latest → lt-a:12\\) |',
    ]);
  });

  it('says when nothing was changed because of dry-run, and when there was nothing to do', () => {
    const dry = { ...report, deleted: report.deleted.map((d) => ({ ...d, dryRun: true })) };
    const text = cleanupSummaryMarkdown(dry);
    expect(text).toContain('### Cleanup (dry run: nothing was changed)');
    expect(text).toContain('| ami | ami-1 | would delete |');
    expect(text).toContain('4 would be deleted');
    expect(cleanupSummaryMarkdown({ deleted: [], kept: [], failures: [] })).toContain('Nothing to clean up.');
  });

  it('caps the table and points at the full list', () => {
    const many: CleanupReport = {
      deleted: Array.from({ length: 450 }, (_, i) => ({
        kind: 'launch-template-version' as const,
        id: `lt-a:${i + 1}`,
        reason: 'old',
        dryRun: false,
      })),
      kept: [],
      failures: [],
    };
    const text = cleanupSummaryMarkdown(many);
    expect(text.split('\n').filter((l) => l.startsWith('| launch-template-version'))).toHaveLength(300);
    expect(text).toContain('…and 150 more rows');
  });
});

describe('cleanedOutput', () => {
  it('lists exactly the deletions, as plain JSON-ready objects', () => {
    const out = cleanedOutput(report);
    expect(out).toEqual(report.deleted);
    expect(out[0]).not.toBe(report.deleted[0]);
    expect(JSON.parse(JSON.stringify(out))).toEqual(report.deleted);
  });
});
