/**
 * What the SSH end-to-end tests share: the servers they run against on 127.0.0.1 (OpenSSH's sshd,
 * skipped where it is not installed, and the in-process ssh2 server the demo falls back to), a
 * workspace with files to upload and deploy scripts, and the options of one deploy.
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { SshConfig } from '../../src/config/index.js';
import type { Logger } from '../../src/lib/runtime.js';
import { createHostKeyVerifier, type DeployOverSshOptions } from '../../src/ssh/index.js';
import { startInProcessSshServer } from './ssh-server.js';
import { sshdAvailable, startSshd, type TestSshServer } from './sshd.js';

export const servers = [
  { name: 'OpenSSH sshd', start: startSshd, available: sshdAvailable() },
  { name: 'in-process ssh2 server', start: startInProcessSshServer, available: true },
];

export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger: Logger & { lines: string[] } = {
    lines,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => undefined,
    child: () => logger,
  };
  return logger;
}

export function sshConfig(overrides: Partial<SshConfig>): SshConfig {
  return {
    user: '',
    privateKey: '',
    port: 22,
    address: 'private',
    timeoutSeconds: 30,
    hostKeyChecking: 'accept-new',
    knownHosts: [],
    ...overrides,
  };
}

/** Alive and not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export async function eventually(check: () => boolean, ms = 3_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
}

export const Scripts: Record<string, string> = {
  'install.sh': [
    '#!/bin/sh',
    'set -e',
    'echo "start in $(pwd)"',
    'env -0 > env.out',
    'echo "to stderr" >&2',
    'echo done',
  ].join('\n'),
  'fail.sh':
    '#!/bin/sh\ni=1\nwhile [ $i -le 25 ]; do echo "problem $i" >&2; i=$((i+1)); done\necho out\nexit 3\n',
  'hang.sh': '#!/bin/sh\nsleep 100 &\necho $! > sleep.pid\necho started\nwait\n',
  // One script for several deploys at once: $NAME tells them apart, $HANG makes one outlive its timeout.
  'together.sh': [
    '#!/bin/sh',
    'set -e',
    'if [ -n "$HANG" ]; then sleep 100 & echo $! > "sleep-$NAME.pid"; echo started; wait; fi',
    'echo started',
    // Longer than the hanging deploy's timeout: its kill must not reach these.
    'sleep 3',
    'cmp -s build/index.html expected.html',
    'echo "$NAME" > "done-$NAME"',
    'echo finished',
  ].join('\n'),
};
export type StartServer = (options?: { port?: number }) => Promise<TestSshServer>;

export interface SshServerUnderTest {
  /** The server of the current test (replaceServer swaps it). */
  server(): TestSshServer;
  /** How many deploy options were made so far: the last one uploads into `deploy-<count>`. */
  count(): number;
  /** Options for one deploy into a fresh remote directory of this test. */
  options(overrides?: Partial<DeployOverSshOptions>): DeployOverSshOptions;
  /** Replaces the server by one on the same address with a new host key, as a machine in the middle would. */
  replaceServer(): Promise<number>;
}

/** Starts a server and the workspace before the tests of the enclosing describe, stops them after. */
export function useSshServer(start: StartServer): SshServerUnderTest {
  let server: TestSshServer;
  let workspace: string;
  let count = 0;

  beforeAll(async () => {
    server = await start();
    workspace = await mkdtemp(path.join(tmpdir(), 'ssh-e2e-ws-'));
    await mkdir(path.join(workspace, 'build/bin'), { recursive: true });
    await mkdir(path.join(workspace, 'build/.git'), { recursive: true });
    await mkdir(path.join(workspace, 'deploy'));
    await writeFile(path.join(workspace, 'build/index.html'), '<h1>v2</h1>\n');
    await writeFile(path.join(workspace, 'build/bin/serve'), '#!/bin/sh\necho serving\n');
    await chmod(path.join(workspace, 'build/bin/serve'), 0o755);
    await writeFile(path.join(workspace, 'build/.env'), 'MODE=production\n');
    await writeFile(path.join(workspace, 'build/.git/config'), '[core]\n');
    await writeFile(path.join(workspace, 'config.json'), '{"a":1}\n');
    for (const [file, text] of Object.entries(Scripts))
      await writeFile(path.join(workspace, 'deploy', file), text);
    process.env.ASG_ROLLING_E2E_RUNNER_ONLY = 'must not reach the instance';
  });

  afterAll(async () => {
    delete process.env.ASG_ROLLING_E2E_RUNNER_ONLY;
    await server?.stop();
    if (workspace) await rm(workspace, { recursive: true, force: true });
  });

  function options(overrides: Partial<DeployOverSshOptions> = {}): DeployOverSshOptions {
    return {
      host: server.host,
      port: server.port,
      username: server.user,
      privateKey: server.privateKey,
      hostKeys: createHostKeyVerifier(sshConfig({})),
      upload: [],
      uploadDir: path.join(server.dir, 'remote', `deploy-${++count}`),
      script: '',
      env: {},
      timeoutMs: 20_000,
      workspace,
      log: recordingLogger(),
      signal: new AbortController().signal,
      ...overrides,
    };
  }

  async function replaceServer(): Promise<number> {
    const port = server.port;
    await server.stop();
    server = await start({ port });
    expect(server.port).toBe(port);
    return port;
  }

  return { server: () => server, count: () => count, options, replaceServer };
}
