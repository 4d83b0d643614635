/** The inputs the readConfig tests start from, and a workspace to read them in. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { ConfigError, readConfig, type Config } from '../../../src/config/index.js';

export const KEY_BODY = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
export const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n`;
/** A real ed25519 host public key, as known_hosts lists it. */
export const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINamKMxvVjK62XsIUhQSaoOguzwJh314svvcMhRjNE2c';

/** A valid `refresh` run: the smallest set of inputs every case starts from. */
export const base: Record<string, string> = { command: 'refresh', 'asg-names': 'web' };
/** A valid `deploy` with something to deploy and SSH to do it. */
export const deploy: Record<string, string> = {
  command: 'deploy',
  'asg-tags': 'app=shop',
  upload: 'build/',
  'deploy-script': 'deploy.sh',
  'ssh-user': 'deploy',
  'ssh-private-key': KEY,
};

export interface ReadOptions {
  env?: NodeJS.ProcessEnv;
  secrets?: string[];
}

export interface Reader {
  /** GITHUB_WORKSPACE of every read: it holds build/ and deploy.sh. */
  workspace(): string;
  read(inputs: Record<string, string>, options?: ReadOptions): Config;
  /** The lines of the ConfigError that reading `inputs` throws. */
  problems(inputs: Record<string, string>, env?: NodeJS.ProcessEnv): string[];
}

/** Makes the workspace before the file's tests and removes it after them; reads inputs in it. */
export function useWorkspace(): Reader {
  let workspace: string;
  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'config-test-'));
    mkdirSync(join(workspace, 'build'));
    writeFileSync(join(workspace, 'deploy.sh'), '#!/bin/sh\n');
  });
  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  function read(inputs: Record<string, string>, options: ReadOptions = {}): Config {
    const env = { GITHUB_WORKSPACE: workspace, ...options.env };
    return readConfig((name) => inputs[name] ?? '', env, {
      setSecret: (secret) => options.secrets?.push(secret),
    });
  }
  function problems(inputs: Record<string, string>, env?: NodeJS.ProcessEnv): string[] {
    try {
      read(inputs, { env });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message.split('\n');
    }
    throw new Error('expected a ConfigError');
  }
  return { workspace: () => workspace, read, problems };
}
