import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const node = existsSync('node_modules/.bin/node') ? resolve('node_modules/.bin/node') : process.execPath;
const dir = mkdtempSync(join(tmpdir(), 'entry-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a step body through runEntry in a process of its own, as the bundles do. */
function runStep(body: string) {
  const file = join(dir, `step-${Math.random().toString(36).slice(2)}.mts`);
  const entry = JSON.stringify(resolve('src/action/entry.ts'));
  writeFileSync(file, `import { runEntry } from ${entry};\nawait runEntry(async () => {\n${body}\n});\n`);
  const started = Date.now();
  const result = spawnSync(node, ['--import', 'tsx', file], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: process.cwd(),
  });
  return { ...result, ms: Date.now() - started };
}

describe('runEntry', () => {
  it('turns a thrown Error into ::error:: and exit code 1', () => {
    const result = runStep("throw new Error('boom: it broke');");
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('::error::boom: it broke');
  });

  it('turns a thrown non-Error into a readable message', () => {
    const result = runStep("throw { code: 'E1' };");
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('::error::{"code":"E1"}');
  });

  it('exits 0 at once even when a timer would keep the process alive, after flushing output', () => {
    const result = runStep(
      'setInterval(() => {}, 1000);\nfor (let i = 0; i < 2000; i++) process.stdout.write(`line ${i}\\n`);',
    );
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('line 1999');
    expect(result.ms).toBeLessThan(20_000);
  });

  it('keeps an exit code the step set itself', () => {
    expect(runStep('process.exitCode = 3;').status).toBe(3);
  });
});
