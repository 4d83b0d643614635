/**
 * The SSH deploy against real servers on 127.0.0.1: the probe, uploads, the script and its
 * environment, failures, timeouts, aborts and concurrent deploys into one directory.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/runtime.js';
import { deployOverSsh, waitForSsh, type DeployOverSshOptions } from '../../src/ssh/index.js';
import { servers, recordingLogger, alive, eventually, useSshServer } from '../helpers/ssh-servers.js';

for (const { name, start, available } of servers) {
  describe.skipIf(!available)(name, () => {
    const { server, options } = useSshServer(start);

    it('is found ready by the probe', async () => {
      const log = recordingLogger();
      // Resolving is the finding: waitForSsh throws once its timeout passes without an answer.
      await waitForSsh({
        host: server().host,
        port: server().port,
        timeoutMs: 30_000,
        clock: systemClock,
        signal: new AbortController().signal,
        log,
      });
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
        USER: server().user,
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
      // Long enough for the connection and upload on a busy machine: the script must have started.
      const opts = options({ script: 'deploy/hang.sh', timeoutMs: 8_000, log });
      const started = Date.now();
      await expect(deployOverSsh(opts)).rejects.toThrow(/timed out after 8 s/);
      expect(Date.now() - started).toBeLessThan(30_000);
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
      let abortedAt = 0;
      log.info = (line) => {
        info(line);
        if (line === 'started') {
          abortedAt = Date.now();
          controller.abort(reason);
        }
      };
      const opts = options({ script: 'deploy/hang.sh', signal: controller.signal, log });
      await expect(deployOverSsh(opts)).rejects.toBe(reason);
      // "At once": far sooner than any deploy timeout, measured from the abort itself.
      expect(abortedAt).toBeGreaterThan(0);
      expect(Date.now() - abortedAt).toBeLessThan(10_000);
      const sleepPid = Number(await readFile(path.join(opts.uploadDir, 'sleep.pid'), 'utf8'));
      expect(await eventually(() => !alive(sleepPid))).toBe(true);
    });

    it('refuses a wrong client key without showing any key', async () => {
      const other = await start();
      try {
        const error = await deployOverSsh(options({ privateKey: other.privateKey })).catch((e: Error) => e);
        expect((error as Error).message).toMatch(
          new RegExp(`^Could not connect over SSH to ${server().user}@127\\.0\\.0\\.1:${server().port}: `),
        );
        expect((error as Error).message).not.toContain('PRIVATE KEY');
      } finally {
        await other.stop();
      }
    });

    it('runs concurrent deploys into one directory; a timeout kills only its own script', async () => {
      // As when every simulated instance forwards to this one server: same upload-dir, same script.
      const uploadDir = path.join(server().dir, 'remote', 'shared');
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
      const hanging = deploy('hang', { env: { NAME: 'hang', HANG: '1' }, timeoutMs: 8_000 });
      expect(await eventually(() => hanging.log.lines.includes('started'), 30_000)).toBe(true);
      const others = Array.from({ length: 5 }, (_, i) => deploy(`d${i}`));

      expect(await hanging.done).toMatch(/timed out after 8 s/);
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
  });
}
