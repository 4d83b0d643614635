import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listUploads, type UploadItem } from '../../../src/ssh/local-files.js';

let base: string;
let workspace: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'asg-rolling-files-'));
  workspace = path.join(base, 'workspace');
  outside = path.join(base, 'outside');
  await mkdir(path.join(workspace, 'build', 'bin'), { recursive: true });
  await mkdir(path.join(workspace, '.git'), { recursive: true });
  await mkdir(path.join(workspace, 'shared'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(workspace, 'build', 'app.txt'), 'v2\n');
  await writeFile(path.join(workspace, 'build', 'bin', 'run'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(path.join(workspace, 'build', '.env'), 'A=1\n');
  await writeFile(
    path.join(workspace, '.git', 'config'),
    '[http] extraheader = AUTHORIZATION: basic secret\n',
  );
  await writeFile(path.join(workspace, 'shared', 'common.txt'), 'shared\n');
  await writeFile(path.join(outside, 'secret'), 'secret\n');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const build = (): UploadItem => ({
  local: path.join(workspace, 'build'),
  remote: '/srv/app/build',
  directory: true,
});
const remotes = async (items: UploadItem[]) =>
  (await listUploads(items, workspace)).files.map((f) => f.remote).sort();

describe('listUploads', () => {
  it('lists files with their modes, dotfiles included, .git left out', async () => {
    const files = await listUploads([build()], workspace);
    expect(files.files.map((f) => [f.remote, f.mode])).toEqual([
      ['/srv/app/build/.env', expect.any(Number)],
      ['/srv/app/build/app.txt', expect.any(Number)],
      ['/srv/app/build/bin/run', 0o755],
    ]);
    expect(files.directories).toEqual(['/srv/app/build', '/srv/app/build/bin']);
    const all = await remotes([{ local: workspace, remote: '/srv/app', directory: true }]);
    expect(all.some((r) => r.includes('.git'))).toBe(false);
  });

  it('sends the deploy script executable where it is readable, whatever its local mode', async () => {
    const script = path.join(workspace, 'deploy.sh');
    await writeFile(script, '#!/bin/sh\n', { mode: 0o640 });
    const item = { local: script, remote: '/srv/app/deploy.sh', directory: false };
    expect((await listUploads([item], workspace)).files[0]?.mode).toBe(0o640);
    expect((await listUploads([{ ...item, executable: true }], workspace)).files[0]?.mode).toBe(0o750);
  });

  it('follows a link that stays inside the uploaded directory', async () => {
    await symlink('app.txt', path.join(workspace, 'build', 'current.txt'));
    await symlink('bin', path.join(workspace, 'build', 'tools'));
    expect(await remotes([build()])).toEqual([
      '/srv/app/build/.env',
      '/srv/app/build/app.txt',
      '/srv/app/build/bin/run',
      '/srv/app/build/current.txt',
      '/srv/app/build/tools/run',
    ]);
  });

  it('refuses a link to a file outside the workspace, naming the link and its target', async () => {
    await symlink(path.join(outside, 'secret'), path.join(workspace, 'build', 'passwd'));
    await expect(listUploads([build()], workspace)).rejects.toThrow(
      /symbolic link 'build\/passwd' points to '.*outside\/secret', outside the workspace/,
    );
  });

  it('refuses a link to a directory outside the workspace', async () => {
    await symlink(outside, path.join(workspace, 'build', 'etc'));
    await expect(listUploads([build()], workspace)).rejects.toThrow(
      /'build\/etc' points to .*outside the workspace/,
    );
  });

  it('refuses a link into .git', async () => {
    await symlink('../.git/config', path.join(workspace, 'build', 'config'));
    await expect(listUploads([build()], workspace)).rejects.toThrow(
      /'build\/config' points to '.*\.git\/config', inside a \.git directory/,
    );
  });

  it('refuses a link that leaves the uploaded directory, even inside the workspace', async () => {
    await symlink('../shared/common.txt', path.join(workspace, 'build', 'common.txt'));
    await expect(listUploads([build()], workspace)).rejects.toThrow(
      /'build\/common.txt' points to .*shared\/common.txt', outside the uploaded directory 'build'/,
    );
  });

  it('checks a listed path that is itself a link, or lies below one', async () => {
    await symlink(path.join(outside, 'secret'), path.join(workspace, 'config.json'));
    await expect(
      listUploads(
        [{ local: path.join(workspace, 'config.json'), remote: '/srv/app/config.json', directory: false }],
        workspace,
      ),
    ).rejects.toThrow(/symbolic link 'config.json' points to .*outside the workspace/);
    await symlink(outside, path.join(workspace, 'vendor'));
    await expect(
      listUploads(
        [{ local: path.join(workspace, 'vendor', 'secret'), remote: '/srv/app/secret', directory: false }],
        workspace,
      ),
    ).rejects.toThrow(/upload path 'vendor\/secret' points to .*outside the workspace/);
    // A link to a file elsewhere in the workspace is fine when listed directly.
    await symlink('shared/common.txt', path.join(workspace, 'common.txt'));
    expect(
      await remotes([
        { local: path.join(workspace, 'common.txt'), remote: '/srv/app/common.txt', directory: false },
      ]),
    ).toEqual(['/srv/app/common.txt']);
  });

  it('skips a dangling link and survives a link loop', async () => {
    await symlink('missing', path.join(workspace, 'build', 'dangling'));
    await symlink('.', path.join(workspace, 'build', 'loop'));
    expect(await remotes([build()])).toEqual([
      '/srv/app/build/.env',
      '/srv/app/build/app.txt',
      '/srv/app/build/bin/run',
    ]);
  });
});
