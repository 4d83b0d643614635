/**
 * The built action (dist/, as committed) run the way the runner runs it: bad inputs fail the step
 * with an error naming the input, before any AWS call; the post step with nothing to clean is a no-op.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeJob, runAction, type ActionRun } from '../helpers/action-runner.js';

// A stand-in AWS endpoint that only counts requests: validation must fail before any is sent.
let server: Server;
let requests = 0;
let endpoint = '';
const runs: ActionRun[] = [];
beforeAll(async () => {
  server = createServer((_req, res) => {
    requests++;
    res.statusCode = 500;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const run of runs) removeJob(run.job);
  await new Promise((resolve) => server.close(resolve));
});

const KEY_BODY = 'c2VjcmV0LWtleS1ib2R5LXRoYXQtbXVzdC1uZXZlci1hcHBlYXI';
const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----`;

async function main(inputs: Record<string, string>): Promise<ActionRun> {
  const result = await runAction({
    entry: 'main',
    inputs,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
    },
    timeoutMs: 30_000,
  });
  runs.push(result);
  return result;
}
const errors = (run: ActionRun): string[] =>
  run.annotations.filter((a) => a.level === 'error').flatMap((a) => a.message.split('\n'));

describe('the built action refuses bad inputs', () => {
  it.each([
    ['max-parallel', { 'asg-names': 'web', command: 'refresh', 'max-parallel': '0' }],
    ['max-parallel', { 'asg-names': 'web', command: 'refresh', 'max-parallel': 'abc' }],
    ['ssh-port', { 'asg-names': 'web', command: 'refresh', 'ssh-port': '70000' }],
    ['asg-tags', { command: 'refresh', 'asg-tags': 'foo' }],
    ['command', { 'asg-names': 'web', command: 'Deploy' }],
    ['max-healthy-percentage', { 'asg-names': 'web', command: 'refresh', 'max-healthy-percentage': '250' }],
    ['checkpoint-percentages', { 'asg-names': 'web', command: 'refresh', 'checkpoint-percentages': '50,20' }],
    ['dry-run', { 'asg-names': 'web', command: 'cleanup', 'dry-run': 'yes' }],
  ])('%s: exit 1 with an ::error:: naming it, and no AWS call', async (name, inputs) => {
    const before = requests;
    const result = await main(inputs);
    expect(result.exitCode, result.stdout + result.stderr).toBe(1);
    expect(errors(result)).toEqual([expect.stringContaining(`Input "${name}" must be`)]);
    expect(requests).toBe(before);
  });

  it('reports every problem at once, one line each', async () => {
    const result = await main({
      command: 'deploy',
      'max-parallel': '0',
      'ssh-timeout': '-1',
      'skip-matching': 'no',
    });
    expect(result.exitCode).toBe(1);
    const lines = errors(result);
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const name of ['max-parallel', 'ssh-timeout', 'skip-matching', 'asg-names'])
      expect(lines.some((line) => line.includes(`"${name}"`))).toBe(true);
  });

  it('finalize without a setup step in the job says so', async () => {
    const result = await main({ command: 'finalize', 'asg-names': 'web' });
    expect(result.exitCode).toBe(1);
    expect(errors(result)).toEqual([expect.stringContaining('Command "finalize" found no "setup" result')]);
  });

  it('masks the private key before anything else is printed', async () => {
    const result = await main({
      ...{ command: 'deploy', 'asg-names': 'web' },
      'ssh-private-key': KEY,
      upload: 'x',
    });
    expect(result.exitCode).toBe(1);
    expect(result.masks).toContain(KEY_BODY);
    const printed = (result.stdout + result.stderr)
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'));
    expect(printed.join('\n')).not.toContain(KEY_BODY);
  });
});

describe('the post step', () => {
  it('with no state from the main step exits 0 and does nothing', async () => {
    const before = requests;
    const result = await runAction({
      entry: 'post',
      inputs: { 'asg-names': 'web' },
      env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'eu-west-1' },
      timeoutMs: 30_000,
    });
    runs.push(result);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.annotations).toEqual([]);
    expect(result.outputs).toEqual({});
    expect(requests).toBe(before);
  });
});
