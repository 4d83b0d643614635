/**
 * `npm run demo` end to end: the built action against the simulator and the in-process SSH server
 * (the fallback a machine without OpenSSH gets), at a time scale that keeps it to a few seconds.
 */
import path from 'node:path';
import { expect, it } from 'vitest';
import { runDemo } from '../demo/demo.js';

it('deploys the demo fleet with the built action and reports every group', async () => {
  const printed: string[] = [];
  const result = await runDemo({
    server: 'in-process',
    timeScale: 0.005,
    // Like the other end-to-end tests: a freshly built dist instead of the committed one.
    ...(process.env.ASG_ROLLING_E2E_DIST ? { dist: path.resolve(process.env.ASG_ROLLING_E2E_DIST) } : {}),
    print: (text) => printed.push(text),
  });
  const output = printed.join('\n');
  expect(result.ok, output).toBe(true);
  expect(result.server).toBe('in-process');

  const groups = ['shop-asg-0', 'shop-asg-1', 'shop-asg-2'];
  for (const group of groups) expect(result.main.summary).toContain(`| ${group} |`);
  // Groups 0 and 2 share a base image: two temporary instances, two new AMIs, every group on one.
  expect(result.final.groups.map((g) => g.group)).toEqual(groups);
  const newAmis = result.final.amis.filter((a) => a.ours);
  expect(newAmis).toHaveLength(2);
  for (const row of result.final.groups) {
    expect(row.newImage).toBe(true);
    expect(row.onImage).toBe(row.instances);
    expect(row.instances).toBe(2);
  }
  expect(result.final.groups[0]?.imageId).toBe(result.final.groups[2]?.imageId);
  expect(result.final.terminated).toEqual({ temporary: 2, replaced: 6 });
  // Each temporary instance ran the deploy script and installed the app.
  const instances = JSON.parse(result.main.outputs.instances ?? '[]') as { instanceId: string }[];
  expect(Object.keys(result.sites).sort()).toEqual(instances.map((i) => i.instanceId).sort());
  expect(Object.values(result.sites)).toEqual(['2.0.0', '2.0.0']);

  // What the reader is promised: the log, the summary, the outputs and the final tables.
  expect(output).toContain('installed shop 2.0.0 on');
  expect(output).toContain('== Job summary (GITHUB_STEP_SUMMARY)');
  expect(output).toMatch(/^instance-refreshes = \[/m);
  // shop-asg-1 follows $Default: it still does after the deploy, and $Default is now version 2.
  expect(output).toMatch(/^shop-asg-1 +shop-lt-1 +\$Default → 2 +ami-\w+ \(new AMI\) +2\/2$/m);
  expect(output).not.toContain('PRIVATE KEY');
}, 120_000);
