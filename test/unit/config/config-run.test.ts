/** readConfig: the run context from the runner environment, and the frozen result. */
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../src/config/index.js';
import { KEY, base, deploy, useWorkspace } from './config-builders.js';

const { read, problems, workspace } = useWorkspace();

describe('readConfig: run context and the result', () => {
  it('comes from the runner environment', () => {
    const config = read(base, {
      env: {
        GITHUB_RUN_ID: '123',
        GITHUB_RUN_ATTEMPT: '2',
        GITHUB_SHA: 'abc123',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'o/r',
      },
    });
    expect(config.run).toEqual({
      runId: '123-2',
      commit: 'abc123',
      workspace: workspace(),
      runUrl: 'https://github.com/o/r/actions/runs/123',
      pollScale: 1,
    });
  });

  it('takes the poll scale from ASG_ROLLING_POLL_SCALE, bounded to 0.001..1', () => {
    expect(read(base, { env: { ASG_ROLLING_POLL_SCALE: '0.01' } }).run.pollScale).toBe(0.01);
    expect(read(base, { env: { ASG_ROLLING_POLL_SCALE: ' 0.001 ' } }).run.pollScale).toBe(0.001);
    expect(read(base, { env: { ASG_ROLLING_POLL_SCALE: '1' } }).run.pollScale).toBe(1);
    expect(read(base, { env: { ASG_ROLLING_POLL_SCALE: '' } }).run.pollScale).toBe(1);
    for (const bad of ['fast', '0', '0.0009', '-1', '2', 'Infinity', '1e999'])
      expect(problems(base, { ASG_ROLLING_POLL_SCALE: bad })).toEqual([
        `Environment variable "ASG_ROLLING_POLL_SCALE" must be a number from 0.001 to 1 (a simulator's time scale; unset for real AWS), got "${bad}".`,
      ]);
  });

  it('gets a random run id outside Actions', () => {
    const a = readConfig((name) => base[name] ?? '', {}, { setSecret: () => {} });
    const b = readConfig((name) => base[name] ?? '', {}, { setSecret: () => {} });
    expect(a.run.runId).toMatch(/^local-[0-9a-f]{12}$/);
    expect(a.run.runId).not.toBe(b.run.runId);
    expect(a.run.workspace).toBe(process.cwd());
  });

  it('is deeply frozen', () => {
    const config = read(deploy);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.roll)).toBe(true);
    expect(Object.isFrozen(config.selection.tags[0])).toBe(true);
    expect(() => (config.deploy.upload as string[]).push('x')).toThrow(TypeError);
  });

  it('reads a full deploy', () => {
    const config = read(deploy);
    expect(config.command).toBe('deploy');
    expect(config.selection).toEqual({ names: [], tags: [{ key: 'app', value: 'shop' }] });
    expect(config.deploy).toMatchObject({
      upload: ['build/'],
      script: 'deploy.sh',
      uploadDir: 'asg-rolling',
    });
    expect(config.ssh).toMatchObject({ user: 'deploy', privateKey: KEY, port: 22, address: 'private' });
  });
});
