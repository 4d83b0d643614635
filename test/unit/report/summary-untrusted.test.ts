/**
 * The job summary is rendered by GitHub as Markdown: text we do not control (group names, AWS
 * messages, remote stderr) must render as that text, never as a link, an image, HTML or a block
 * of its own. Checked by rendering with a GitHub-flavoured Markdown parser.
 */
import { marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { RunReport, summaryMarkdown } from '../../../src/report/summary.js';

const Hostile = [
  '[Approve deploy](https://evil.example/approve)',
  '![x](https://evil.example/x.png)',
  '<img src=x onerror=alert(1)> evil.example',
  '<a href="https://evil.example">click</a>',
  'see https://evil.example/now or www.evil.example',
  '**bold** _it_ `code` ~~gone~~ evil.example',
  'line one evil.example\n# heading\n```\nfence',
];

function render(markdown: string): string {
  return marked.parse(markdown, { gfm: true, async: false });
}

describe('summaryMarkdown with untrusted text', () => {
  it.each(Hostile)('renders %j as plain text in every place it can appear', (text) => {
    const report = new RunReport();
    report.fail(`web ${text}`, `script failed: ${text}`);
    Object.assign(report.row(`web ${text}`), {
      sourceImageId: 'ami-1',
      launchTemplateId: 'lt-1',
      sourceVersion: 1,
    });
    const html = render(
      summaryMarkdown(report, {
        title: 'asg-rolling deploy',
        region: 'us-east-1',
        spans: [{ lane: `web ${text}`, phase: 'roll', start: 1, end: 2, ok: false }],
        errors: [`discovery: ${text}`],
      }),
    );
    expect(html).not.toMatch(
      /<a [^>]*href="https:\/\/evil|<img|<strong>bold|<em>it|<code>code|<del>gone|<h1>|<pre><code>fence/,
    );
    // Our own links (the console) are still there, and the hostile text is readable as text.
    expect(html).toContain('<a href="https://us-east-1.console.aws.amazon.com/');
    expect(html.replace(/\u200b/g, '')).toContain('evil.example');
  });
});
