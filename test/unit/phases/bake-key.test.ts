/** The bake key changes with everything that goes into an image, and with nothing else. */
import { mkdtemp, rm, symlink, writeFile, mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bakeKey, deployDigest } from '../../../src/phases/bake-key.js';

let workspace: string;
const deploy = {
  upload: ['build'],
  uploadDir: 'asg-rolling',
  script: 'deploy.sh',
  env: { STAGE: 'prod', TOKEN: 'secret-1' } as Record<string, string>,
};
const key = async (
  overrides: Partial<typeof deploy> = {},
  commit = 'a'.repeat(40),
  source = 'ami-0123456789abcdef0',
): Promise<string> => bakeKey(await deployDigest({ ...deploy, ...overrides }, { workspace, commit }), source);

beforeEach(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'bake-key-'));
  await mkdir(path.join(workspace, 'build', 'bin'), { recursive: true });
  await writeFile(path.join(workspace, 'build', 'app.txt'), 'v1\n');
  await writeFile(path.join(workspace, 'build', 'bin', 'run'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(path.join(workspace, 'deploy.sh'), '#!/bin/sh\necho hi\n');
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('bakeKey', () => {
  it('is stable for the same inputs and fits an AWS tag value', async () => {
    const first = await key();
    expect(await key()).toBe(first);
    expect(first).toMatch(/^v1-[0-9a-f]{64}$/);
  });

  it('changes with one uploaded byte, a new file, a mode, or a .git-free path only', async () => {
    const before = await key();
    await writeFile(path.join(workspace, 'build', 'app.txt'), 'v2\n');
    const byte = await key();
    expect(byte).not.toBe(before);
    await writeFile(path.join(workspace, 'build', 'extra.txt'), '');
    const added = await key();
    expect(added).not.toBe(byte);
    await chmod(path.join(workspace, 'build', 'extra.txt'), 0o700);
    const moded = await key();
    expect(moded).not.toBe(added);
    // .git is never uploaded, so it never changes the image.
    await mkdir(path.join(workspace, 'build', '.git'));
    await writeFile(path.join(workspace, 'build', '.git', 'HEAD'), 'ref: x\n');
    expect(await key()).toBe(moded);
  });

  it('follows symlinks as the upload does and survives a loop', async () => {
    const before = await key();
    await symlink(path.join(workspace, 'build'), path.join(workspace, 'build', 'bin', 'loop'));
    const looped = await key();
    expect(looped).toBeTypeOf('string');
    await writeFile(path.join(workspace, 'build', 'app.txt'), 'changed\n');
    expect(await key()).not.toBe(before);
  });

  it('changes with the source image, the commit, the script, the upload dir and deploy-env', async () => {
    const base = await key();
    const variants = [
      await key({}, 'b'.repeat(40)),
      await key({}, 'a'.repeat(40), 'ami-0fedcba9876543210'),
      await key({ uploadDir: 'elsewhere' }),
      await key({ env: { STAGE: 'prod', TOKEN: 'secret-2' } }),
      await key({ env: { STAGE: 'prod' } }),
      await key({ script: '' }),
      await key({ upload: [] }),
    ];
    await writeFile(path.join(workspace, 'deploy.sh'), '#!/bin/sh\necho bye\n');
    variants.push(await key());
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('ignores the order of deploy-env keys and never carries a value in the clear', async () => {
    const digest = await deployDigest(
      { ...deploy, env: { TOKEN: 'secret-1', STAGE: 'prod' } },
      { workspace, commit: 'c' },
    );
    expect(bakeKey(digest, 'ami-1')).toBe(
      bakeKey(await deployDigest(deploy, { workspace, commit: 'c' }), 'ami-1'),
    );
    expect(JSON.stringify(digest)).not.toContain('secret-1');
  });
});
