import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../../src/config/index.js';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\n';

let workspace: string;
beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'config-paths-'));
  mkdirSync(join(workspace, 'build'));
  writeFileSync(join(workspace, 'deploy.sh'), '#!/bin/sh\n');
});
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const deploy: Record<string, string> = {
  command: 'deploy',
  'asg-tags': 'app=shop',
  upload: 'build/',
  'deploy-script': 'deploy.sh',
  'ssh-user': 'deploy',
  'ssh-private-key': KEY,
};
const read = (inputs: Record<string, string>) =>
  readConfig((name) => inputs[name] ?? '', { GITHUB_WORKSPACE: workspace }, { setSecret: () => undefined });
function problems(inputs: Record<string, string>): string[] {
  try {
    read(inputs);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('readConfig: local paths stay in the workspace', () => {
  it('refuses upload and deploy-script paths outside the workspace or in .git, naming the input and the path', () => {
    expect(
      problems({
        ...deploy,
        upload: 'build/, ../../../etc/passwd, /etc, .git/config',
        'deploy-script': '../deploy.sh',
      }),
    ).toEqual([
      `Input "upload" must name paths inside the workspace ${workspace}, got "../../../etc/passwd" (/etc/passwd).`,
      `Input "upload" must name paths inside the workspace ${workspace}, got "/etc" (/etc).`,
      `Input "upload" must not name paths in .git (its config can hold the checkout's token), got ".git/config".`,
      `Input "deploy-script" must name paths inside the workspace ${workspace}, got "../deploy.sh" (${join(workspace, '..', 'deploy.sh')}).`,
    ]);
  });

  it('accepts relative and absolute paths inside the workspace, and the workspace itself', () => {
    expect(
      read({ ...deploy, upload: `${join(workspace, 'build')}, ., ./build/../build` }).deploy.upload,
    ).toEqual([join(workspace, 'build'), '.', './build/../build']);
  });
});
