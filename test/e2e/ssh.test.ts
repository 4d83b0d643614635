/**
 * The SSH layer against real servers on 127.0.0.1: OpenSSH's sshd (skipped where it is not
 * installed; CI installs it) and the in-process ssh2 server the demo falls back to.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshConfig } from '../../src/config/index.js';
import type { Logger } from '../../src/lib/runtime.js';
import { systemClock } from '../../src/lib/runtime.js';
import {
  createHostKeyVerifier,
  deployOverSsh,
  waitForSsh,
  type DeployOverSshOptions,
  type HostKeyVerifier,
} from '../../src/ssh/index.js';
import { fingerprint } from '../../src/config/known-hosts.js';
import { startInProcessSshServer } from '../helpers/ssh-server.js';
import { sshdAvailable, startSshd, type TestSshServer } from '../helpers/sshd.js';

const servers = [
  { name: 'OpenSSH sshd', start: startSshd, available: sshdAvailable() },
  { name: 'in-process ssh2 server', start: startInProcessSshServer, available: true },
];

function recordingLogger(): Logger & { lines: string[] } {
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

function sshConfig(overrides: Partial<SshConfig>): SshConfig {
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
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, ms = 3_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
}

const Scripts: Record<string, string> = {
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

for (const { name, start, available } of servers) {
  describe.skipIf(!available)(name, () => {
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

    /** Options for one deploy into a fresh remote directory of this test. */
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

    it('is found ready by the probe', async () => {
      const log = recordingLogger();
      const started = Date.now();
      await waitForSsh({
        host: server.host,
        port: server.port,
        timeoutMs: 5_000,
        clock: systemClock,
        signal: new AbortController().signal,
        log,
      });
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it('is found ready by a probe that checks the host key', async () => {
      const probe = (hostKeys: HostKeyVerifier) =>
        waitForSsh({
          host: server.host,
          port: server.port,
          timeoutMs: 5_000,
          clock: systemClock,
          signal: new AbortController().signal,
          log: recordingLogger(),
          hostKeys,
          instanceId: 'i-ready',
        });
      const strict = (knownHosts: string[]) =>
        createHostKeyVerifier(sshConfig({ hostKeyChecking: 'strict', knownHosts }));
      await probe(createHostKeyVerifier(sshConfig({})));
      await probe(strict([server.knownHostsLine]));
      const started = Date.now();
      await expect(probe(strict([`192.0.2.1 ${server.hostPublicKey}`]))).rejects.toThrow(
        /no key for \[127\.0\.0\.1\]:\d+ in ssh-known-hosts/,
      );
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('uploads files and directories, then runs the script with exactly the env given', async () => {
      const log = recordingLogger();
      const env = { APP: 'shop', TAG_VALUE: "it's $(touch pwned) `x`\nsecond line", EMPTY: '' };
      const opts = options({ upload: ['build', 'config.json'], script: 'deploy/install.sh', env, log });
      await deployOverSsh(opts);
      const remote = opts.uploadDir;

      expect(await readFile(path.join(remote, 'build/index.html'), 'utf8')).toBe('<h1>v2</h1>\n');
      expect(await readFile(path.join(remote, 'build/.env'), 'utf8')).toBe('MODE=production\n');
      expect(statSync(path.join(remote, 'build/bin/serve')).mode & 0o111).not.toBe(0);
      expect(existsSync(path.join(remote, 'build/.git'))).toBe(false);
      expect(await readFile(path.join(remote, 'config.json'), 'utf8')).toBe('{"a":1}\n');
      expect(existsSync(path.join(remote, 'pwned'))).toBe(false);

      const seen = Object.fromEntries(
        (await readFile(path.join(remote, 'env.out'), 'utf8'))
          .split('\0')
          .filter(Boolean)
          .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
      );
      for (const own of ['PWD', 'SHLVL', '_', 'OLDPWD']) delete seen[own];
      expect(Object.keys(seen).sort()).toEqual(['APP', 'EMPTY', 'HOME', 'PATH', 'TAG_VALUE', 'USER']);
      expect(seen).toMatchObject({
        ...env,
        USER: server.user,
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      });

      // Output is streamed line by line, stdout and stderr alike.
      const start = log.lines.indexOf(`start in ${remote}`);
      expect(start).toBeGreaterThan(-1);
      // stdout and stderr are separate streams: their relative order is not defined.
      expect(log.lines.slice(start + 1).sort()).toEqual(['done', 'to stderr']);
      expect(log.lines.join('\n')).not.toContain('OPENSSH PRIVATE KEY');
    });

    it('fails with the exit code and the last 20 stderr lines', async () => {
      const error = await deployOverSsh(options({ script: 'deploy/fail.sh' })).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      const expected = Array.from({ length: 20 }, (_, i) => `problem ${i + 6}`).join('\n');
      expect((error as Error).message).toBe(
        `deploy script exited with code 3; last stderr lines:\n${expected}`,
      );
    });

    it('kills a script that runs past the timeout, children included', async () => {
      const log = recordingLogger();
      const opts = options({ script: 'deploy/hang.sh', timeoutMs: 2_000, log });
      const started = Date.now();
      await expect(deployOverSsh(opts)).rejects.toThrow(/timed out after 2 s/);
      expect(Date.now() - started).toBeLessThan(10_000);
      const sleepPid = Number(await readFile(path.join(opts.uploadDir, 'sleep.pid'), 'utf8'));
      expect(sleepPid).toBeGreaterThan(0);
      expect(await eventually(() => !alive(sleepPid))).toBe(true);
      expect(log.lines).toContain('started');
    });

    it('stops at once when the run is aborted, killing the script', async () => {
      const controller = new AbortController();
      const reason = new Error('cancelled by SIGINT');
      const log = recordingLogger();
      const info = log.info;
      // Abort once the script is running, as a cancelled workflow would.
      log.info = (line) => {
        info(line);
        if (line === 'started') controller.abort(reason);
      };
      const opts = options({ script: 'deploy/hang.sh', signal: controller.signal, log });
      const started = Date.now();
      await expect(deployOverSsh(opts)).rejects.toBe(reason);
      expect(Date.now() - started).toBeLessThan(5_000);
      const sleepPid = Number(await readFile(path.join(opts.uploadDir, 'sleep.pid'), 'utf8'));
      expect(await eventually(() => !alive(sleepPid))).toBe(true);
    });

    it('refuses a wrong client key without showing any key', async () => {
      const other = await start();
      try {
        const error = await deployOverSsh(options({ privateKey: other.privateKey })).catch((e: Error) => e);
        expect((error as Error).message).toMatch(
          new RegExp(`^Could not connect over SSH to ${server.user}@127\\.0\\.0\\.1:${server.port}: `),
        );
        expect((error as Error).message).not.toContain('PRIVATE KEY');
      } finally {
        await other.stop();
      }
    });

    it('in strict mode connects only with a matching known_hosts line', async () => {
      const strict = (knownHosts: string[]) =>
        createHostKeyVerifier(sshConfig({ hostKeyChecking: 'strict', knownHosts }));
      await deployOverSsh(options({ hostKeys: strict([server.knownHostsLine]), upload: ['config.json'] }));

      const wrongKey = Buffer.concat([
        Buffer.from([0, 0, 0, 11]),
        Buffer.from('ssh-ed25519'),
        Buffer.from([0, 0, 0, 32]),
        randomBytes(32),
      ]).toString('base64');
      const wrong = `[127.0.0.1]:${server.port} ssh-ed25519 ${wrongKey}`;
      await expect(deployOverSsh(options({ hostKeys: strict([wrong]) }))).rejects.toThrow(
        /does not match the 1 key\(s\) ssh-known-hosts lists/,
      );
      await expect(
        deployOverSsh(options({ hostKeys: strict([`192.0.2.1 ${server.hostPublicKey}`]) })),
      ).rejects.toThrow(/no key for \[127\.0\.0\.1\]:\d+ in ssh-known-hosts/);
    });

    it('with checking off connects to anything and warns once per run', async () => {
      const log = recordingLogger();
      const hostKeys = createHostKeyVerifier(sshConfig({ hostKeyChecking: 'off' }));
      await deployOverSsh(options({ hostKeys, log }));
      await deployOverSsh(options({ hostKeys, log }));
      expect(
        log.lines.filter((line) => line.startsWith('warning: ssh-host-key-checking is off')),
      ).toHaveLength(1);
    });

    it('runs concurrent deploys into one directory; a timeout kills only its own script', async () => {
      // As when every simulated instance forwards to this one server: same upload-dir, same script.
      const uploadDir = path.join(server.dir, 'remote', 'shared');
      await mkdir(uploadDir, { recursive: true });
      await writeFile(path.join(uploadDir, 'expected.html'), '<h1>v2</h1>\n');
      const deploy = (name: string, overrides: Partial<DeployOverSshOptions> = {}) => {
        const log = recordingLogger();
        const opts = options({
          uploadDir,
          upload: ['build', 'config.json'],
          script: 'deploy/together.sh',
          env: { NAME: name },
          log,
          ...overrides,
        });
        return {
          log,
          done: deployOverSsh(opts).then(
            () => 'ok',
            (error: Error) => error.message,
          ),
        };
      };
      // The hanging one runs first, so the others re-upload the script while it executes.
      const hanging = deploy('hang', { env: { NAME: 'hang', HANG: '1' }, timeoutMs: 2_000 });
      expect(await eventually(() => hanging.log.lines.includes('started'), 10_000)).toBe(true);
      const others = Array.from({ length: 5 }, (_, i) => deploy(`d${i}`));

      expect(await hanging.done).toMatch(/timed out after 2 s/);
      const results = await Promise.all(others.map((o) => o.done));
      expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      for (let i = 0; i < 5; i++) {
        expect(await readFile(path.join(uploadDir, `done-d${i}`), 'utf8')).toBe(`d${i}\n`);
        expect(others[i]?.log.lines).toContain('finished');
      }
      const sleepPid = Number(await readFile(path.join(uploadDir, 'sleep-hang.pid'), 'utf8'));
      expect(await eventually(() => !alive(sleepPid))).toBe(true);
      // Nothing half-written or left behind: only what was uploaded and what the scripts wrote.
      const left = (await readdir(uploadDir)).filter((f) => !/^(done-d\d|sleep-hang\.pid)$/.test(f));
      expect(left.sort()).toEqual(['build', 'config.json', 'expected.html', 'together.sh']);
    });

    /** Replaces the server by one on the same address with a new host key, as a machine in the middle would. */
    async function replaceServer(): Promise<number> {
      const port = server.port;
      await server.stop();
      server = await start({ port });
      expect(server.port).toBe(port);
      return port;
    }

    // Last two: they replace the server.
    it('pins the key the probe saw; the deploy refuses a key changed since; a new instance at the address is trusted', async () => {
      const hostKeys = createHostKeyVerifier(sshConfig({ hostKeyChecking: 'accept-new' }));
      const probe = (instanceId: string) =>
        waitForSsh({
          host: server.host,
          port: server.port,
          timeoutMs: 5_000,
          clock: systemClock,
          signal: new AbortController().signal,
          log,
          hostKeys,
          instanceId,
        });
      const log = recordingLogger();
      const firstKey = fingerprint(Buffer.from(server.hostPublicKey.split(' ')[1] ?? '', 'base64'));
      await probe('i-first');
      expect(
        log.lines.some((line) => line.startsWith('SSH host key of i-first') && line.includes(firstKey)),
      ).toBe(true);

      const port = await replaceServer();
      const changed = new RegExp(
        `^SSH to 127\\.0\\.0\\.1:${port}: host key changed for i-first \\(\\[127\\.0\\.0\\.1\\]:${port}\\) during this run: first saw ${firstKey.replace(/[+/]/g, '\\$&')}`,
      );
      await expect(
        deployOverSsh(options({ hostKeys, instanceId: 'i-first', upload: ['config.json'] })),
      ).rejects.toThrow(changed);
      // Nothing reached the machine that answered instead.
      expect(existsSync(path.join(server.dir, 'remote', `deploy-${count}`, 'config.json'))).toBe(false);
      await expect(probe('i-first')).rejects.toThrow(changed);

      // Another instance given the address later in the run is a new host, not a changed key.
      await probe('i-second');
      await deployOverSsh(options({ hostKeys, instanceId: 'i-second', upload: ['config.json'] }));
      expect(existsSync(path.join(server.dir, 'remote', `deploy-${count}`, 'config.json'))).toBe(true);
    });

    it('without instance ids, pins by address and refuses a changed key there', async () => {
      const hostKeys = createHostKeyVerifier(sshConfig({ hostKeyChecking: 'accept-new' }));
      await deployOverSsh(options({ hostKeys, upload: ['config.json'] }));
      await deployOverSsh(options({ hostKeys }));

      const port = await replaceServer();
      await expect(deployOverSsh(options({ hostKeys }))).rejects.toThrow(
        new RegExp(`host key changed for \\[127\\.0\\.0\\.1\\]:${port} during this run`),
      );
      // A new run trusts the new machine.
      await deployOverSsh(options({ hostKeys: createHostKeyVerifier(sshConfig({})) }));
    });
  });
}
