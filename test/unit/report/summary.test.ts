import { describe, expect, it } from 'vitest';
import {
  consoleLinks,
  failureMessage,
  formatSeconds,
  ganttMarkdown,
  RunReport,
  summaryMarkdown,
} from '../../../src/report/summary.js';
import type { Span } from '../../../src/report/timeline.js';

function sample(): RunReport {
  const report = new RunReport();
  Object.assign(report.row('web'), {
    sourceImageId: 'ami-old',
    launchTemplateId: 'lt-1',
    sourceVersion: 4,
  });
  report.amis.push({ imageId: 'ami-new', sourceImageId: 'ami-old', groups: ['web'] });
  report.versions.push({ launchTemplateId: 'lt-1', version: 5, imageId: 'ami-new', groups: ['web'] });
  report.addRefresh({
    group: 'web',
    instanceRefreshId: 'r-1',
    status: 'Successful',
    statusReason: '',
    seconds: 75,
  });
  Object.assign(report.row('api|x'), {
    sourceImageId: 'ami-old',
    launchTemplateId: 'lt-1',
    sourceVersion: 4,
  });
  report.addRefresh({
    group: 'api|x',
    instanceRefreshId: 'r-2',
    status: 'RollbackSuccessful',
    statusReason: 'alarm',
    seconds: 30,
  });
  report.fail('api|x', 'rolled back: alarm');
  report.fail('api|x', 'a later consequence');
  return report;
}

const spans: Span[] = [
  { lane: 'ami-old', phase: 'launch', start: 1000, end: 3000, ok: true },
  { lane: 'ami-old', phase: 'image', start: 3000, end: 3000, ok: false },
  { lane: 'web', phase: 'roll', start: 3000, end: 9000, ok: true },
  { lane: 'web', phase: 'unfinished', start: 9000, end: undefined, ok: undefined },
];

describe('RunReport', () => {
  it('keeps the first cause of a failure and lists failures by group', () => {
    expect(sample().failures()).toEqual([{ group: 'api|x', error: 'rolled back: alarm' }]);
  });

  it('writes the instance-refreshes output with every recorded refresh', () => {
    expect(JSON.parse(sample().outputs()['instance-refreshes'])).toEqual([
      {
        group: 'api|x',
        instanceRefreshId: 'r-2',
        status: 'RollbackSuccessful',
        statusReason: 'alarm',
        seconds: 30,
      },
      { group: 'web', instanceRefreshId: 'r-1', status: 'Successful', statusReason: '', seconds: 75 },
    ]);
  });

  it('names every failed group in the failure message, and none when all succeeded', () => {
    expect(failureMessage(sample())).toBe(
      '1 of 2 Auto Scaling group(s) failed:\n- api|x: rolled back: alarm',
    );
    const ok = new RunReport();
    ok.row('web');
    expect(failureMessage(ok)).toBeUndefined();
  });
});

describe('summaryMarkdown', () => {
  const md = summaryMarkdown(sample(), {
    title: 'asg-rolling deploy',
    region: 'eu-west-1',
    spans,
    errors: ['Cleanup failed'],
    sections: ['### Cleanup\n\nNothing to clean up.'],
  });

  it('puts errors first', () => {
    expect(md.indexOf('### Errors')).toBeLessThan(md.indexOf('| Group |'));
    expect(md).toContain('- Cleanup failed\n- **api\\|x**: rolled back: alarm');
  });

  it('renders a row per group with console links and durations', () => {
    expect(md).toContain(
      `| web | ami-old → [ami-new](${consoleLinks.ami('eu-west-1', 'ami-new')}) | [lt-1](${consoleLinks.launchTemplate('eu-west-1', 'lt-1')}) 4 → 5 | [r-1](${consoleLinks.refreshes('eu-west-1', 'web')}) | ✅ Successful | 1m 15s |`,
    );
    expect(md).toContain('| api\\|x | ami-old → – |');
    expect(md).toContain('❌ RollbackSuccessful');
    expect(consoleLinks.refreshes('eu-west-1', 'web')).toBe(
      'https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#AutoScalingGroupDetails:id=web;view=instanceRefresh',
    );
  });

  it('ends with the timeline and extra sections', () => {
    expect(md).toContain('```mermaid\ngantt');
    expect(md.trimEnd().endsWith('Nothing to clean up.')).toBe(true);
  });

  it('has no links without a region', () => {
    const plain = summaryMarkdown(sample(), { title: 't', region: '', spans: [] });
    expect(plain).not.toContain('https://');
    expect(plain).not.toContain('mermaid');
  });
});

describe('ganttMarkdown', () => {
  it('draws finished phases per lane, failed ones as crit, never zero-length', () => {
    expect(ganttMarkdown(spans)).toBe(
      [
        '```mermaid',
        'gantt',
        '  dateFormat x',
        '  axisFormat %H:%M:%S',
        '  section ami-old',
        '  launch :done, p0, 1000, 3000',
        '  image :crit, p1, 3000, 3001',
        '  section web',
        '  roll :done, p2, 3000, 9000',
        '```',
      ].join('\n'),
    );
  });

  it('is empty without spans', () => {
    expect(ganttMarkdown([])).toBe('');
  });
});

describe('formatSeconds', () => {
  it.each([
    [5, '5s'],
    [60, '1m'],
    [75, '1m 15s'],
  ])('%s -> %s', (s, text) => expect(formatSeconds(s)).toBe(text));
});
