import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  inputVariable,
  parseCommandFile,
  parseWorkflowCommands,
  removeJob,
  runAction,
  startAction,
  type ActionRun,
} from '../helpers/action-runner.js';

const dir = mkdtempSync(join(tmpdir(), 'action-runner-test-'));
const runs: ActionRun[] = [];
afterAll(() => {
  for (const run of runs) removeJob(run.job);
  rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for a bundle: plain Node writing the runner's file commands by hand. */
function script(name: string, body: string): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(
    path,
    `import { appendFileSync } from 'node:fs';\n` +
      `const put = (file, name, value) => appendFileSync(process.env[file], \`\${name}<<EOF_1\\n\${value}\\nEOF_1\\n\`);\n` +
      body,
  );
  return path;
}
async function run(options: Parameters<typeof runAction>[0]): Promise<ActionRun> {
  const result = await runAction(options);
  runs.push(result);
  return result;
}

describe('runner conventions', () => {
  it('names input variables as the runner does: uppercase, spaces to _, hyphens kept', () => {
    expect(inputVariable('max-parallel')).toBe('INPUT_MAX-PARALLEL');
    expect(inputVariable('my input')).toBe('INPUT_MY_INPUT');
  });

  it('parses name=value lines and heredocs', () => {
    const text = 'a=1\nb<<ghadelimiter_x\nline 1\nline=2\nghadelimiter_x\nc=x=y\nempty<<D\n\nD\n';
    expect(parseCommandFile(text)).toEqual({ a: '1', b: 'line 1\nline=2', c: 'x=y', empty: '' });
    expect(() => parseCommandFile('a<<EOF\nnever ends')).toThrow(/Unterminated/);
  });

  it('parses annotations with properties and escaped data, and masks', () => {
    const stdout = [
      '::error title=shop-web,file=a%3Ab.ts,line=3::first%0Asecond 100%25',
      '::warning::careful',
      '::add-mask::s3cret',
      '::debug::not an annotation',
      'plain line',
    ].join('\n');
    expect(parseWorkflowCommands(stdout)).toEqual({
      annotations: [
        {
          level: 'error',
          message: 'first\nsecond 100%',
          properties: { title: 'shop-web', file: 'a:b.ts', line: '3' },
        },
        { level: 'warning', message: 'careful', properties: {} },
      ],
      masks: ['s3cret'],
    });
  });
});

describe('runAction', () => {
  it('passes inputs with action.yml defaults, reads outputs, state, env and summary back', async () => {
    const result = await run({
      entry: 'main',
      inputs: { 'asg-names': 'web' },
      env: { STEP_ENV: 'from-step' },
      script: script(
        'main',
        `put('GITHUB_OUTPUT', 'inputs', JSON.stringify({ names: process.env['INPUT_ASG-NAMES'], parallel: process.env['INPUT_MAX-PARALLEL'], step: process.env.STEP_ENV }));\n` +
          `put('GITHUB_STATE', 'instances', '["i-1"]');\n` +
          `put('GITHUB_ENV', 'HANDOFF', 'multi\\nline');\n` +
          `appendFileSync(process.env.GITHUB_PATH, '/opt/tool/bin\\n');\n` +
          `appendFileSync(process.env.GITHUB_STEP_SUMMARY, '# done\\n');\n` +
          `console.log('::error title=web::went wrong');\n` +
          `process.exitCode = 1;\n`,
      ),
    });
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.outputs.inputs ?? '')).toEqual({
      names: 'web',
      parallel: '8',
      step: 'from-step',
    });
    expect(result.state).toEqual({ instances: '["i-1"]' });
    expect(result.env).toEqual({ HANDOFF: 'multi\nline' });
    expect(result.summary).toBe('# done\n');
    expect(result.annotations).toEqual([
      { level: 'error', message: 'went wrong', properties: { title: 'web' } },
    ]);
    expect(result.job.path).toEqual(['/opt/tool/bin']);
  });

  it('carries GITHUB_ENV and PATH to later steps and state to the post step', async () => {
    const first = await run({
      entry: 'main',
      inputs: { 'asg-names': 'web' },
      script: script(
        'first',
        `put('GITHUB_ENV', 'HANDOFF', 'from-first');\nput('GITHUB_STATE', 'key-file', '/tmp/k');\n` +
          `appendFileSync(process.env.GITHUB_PATH, '/first/bin\\n');\n`,
      ),
    });
    const show = script(
      'show',
      `put('GITHUB_OUTPUT', 'seen', JSON.stringify({ handoff: process.env.HANDOFF, state: process.env['STATE_key-file'] ?? null, names: process.env['INPUT_ASG-NAMES'], path: process.env.PATH.split(':')[0], runId: process.env.GITHUB_RUN_ID, temp: process.env.RUNNER_TEMP }));\n`,
    );
    const second = await run({ entry: 'main', inputs: {}, after: first, script: show });
    const post = await run({ entry: 'post', stateFrom: first, after: second, script: show });
    const seenSecond = JSON.parse(second.outputs.seen ?? '');
    const seenPost = JSON.parse(post.outputs.seen ?? '');
    expect(seenSecond).toMatchObject({ handoff: 'from-first', state: null, path: '/first/bin' });
    expect(seenPost).toMatchObject({
      handoff: 'from-first',
      state: '/tmp/k',
      path: '/first/bin',
      names: 'web',
    });
    expect(seenSecond.names).toBe('');
    expect(seenPost.runId).toBe(seenSecond.runId);
    expect(seenPost.temp).toBe(first.job.runnerTemp);
  });

  it('never hands the step real AWS settings and points AWS at a closed loopback port by default', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIAREALLOOKING';
    try {
      const result = await run({
        entry: 'main',
        inputs: {},
        script: script(
          'aws',
          `put('GITHUB_OUTPUT', 'aws', JSON.stringify({ key: process.env.AWS_ACCESS_KEY_ID ?? null, endpoint: process.env.AWS_ENDPOINT_URL, imds: process.env.AWS_EC2_METADATA_DISABLED }));\n`,
        ),
      });
      expect(JSON.parse(result.outputs.aws ?? '')).toEqual({
        key: null,
        endpoint: 'http://127.0.0.1:9',
        imds: 'true',
      });
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
    }
  });

  it('cancels like the runner: SIGINT first, and a step that handles it ends on its own', async () => {
    const handle = startAction({
      entry: 'main',
      inputs: {},
      script: script(
        'cancel',
        `process.on('SIGINT', () => { put('GITHUB_OUTPUT', 'got', 'SIGINT'); process.exit(130); });\n` +
          `console.log('ready');\nsetInterval(() => {}, 1000);\n`,
      ),
    });
    await handle.waitFor('ready');
    handle.cancel();
    const result = await handle.done;
    runs.push(result);
    expect(result.exitCode).toBe(130);
    expect(result.outputs.got).toBe('SIGINT');
  });

  it('kills a step that outlives its timeout', async () => {
    const result = await run({
      entry: 'main',
      inputs: {},
      timeoutMs: 500,
      script: script('hang', 'setInterval(() => {}, 1000);\n'),
    });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
  });
});
