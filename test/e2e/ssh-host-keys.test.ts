/**
 * SSH host keys against real servers on 127.0.0.1: strict checking against ssh-known-hosts,
 * checking off, and keys pinned during a run (by instance and by address) refused once they change.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/runtime.js';
import {
  createHostKeyVerifier,
  deployOverSsh,
  waitForSsh,
  type HostKeyVerifier,
} from '../../src/ssh/index.js';
import { fingerprint } from '../../src/config/known-hosts.js';
import { servers, recordingLogger, sshConfig, useSshServer } from '../helpers/ssh-servers.js';

for (const { name, start, available } of servers) {
  describe.skipIf(!available)(name, () => {
    const { server, count, options, replaceServer } = useSshServer(start);

    it('is found ready by a probe that checks the host key', async () => {
      const probe = (hostKeys: HostKeyVerifier) =>
        waitForSsh({
          host: server().host,
          port: server().port,
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
      await probe(strict([server().knownHostsLine]));
      const started = Date.now();
      await expect(probe(strict([`192.0.2.1 ${server().hostPublicKey}`]))).rejects.toThrow(
        /no key for \[127\.0\.0\.1\]:\d+ in ssh-known-hosts/,
      );
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('in strict mode connects only with a matching known_hosts line', async () => {
      const strict = (knownHosts: string[]) =>
        createHostKeyVerifier(sshConfig({ hostKeyChecking: 'strict', knownHosts }));
      await deployOverSsh(options({ hostKeys: strict([server().knownHostsLine]), upload: ['config.json'] }));

      const wrongKey = Buffer.concat([
        Buffer.from([0, 0, 0, 11]),
        Buffer.from('ssh-ed25519'),
        Buffer.from([0, 0, 0, 32]),
        randomBytes(32),
      ]).toString('base64');
      const wrong = `[127.0.0.1]:${server().port} ssh-ed25519 ${wrongKey}`;
      await expect(deployOverSsh(options({ hostKeys: strict([wrong]) }))).rejects.toThrow(
        /does not match the 1 key\(s\) ssh-known-hosts lists/,
      );
      await expect(
        deployOverSsh(options({ hostKeys: strict([`192.0.2.1 ${server().hostPublicKey}`]) })),
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

    // Last two: they replace the server().
    it('pins the key the probe saw; the deploy refuses a key changed since; a new instance at the address is trusted', async () => {
      const hostKeys = createHostKeyVerifier(sshConfig({ hostKeyChecking: 'accept-new' }));
      const probe = (instanceId: string) =>
        waitForSsh({
          host: server().host,
          port: server().port,
          timeoutMs: 5_000,
          clock: systemClock,
          signal: new AbortController().signal,
          log,
          hostKeys,
          instanceId,
        });
      const log = recordingLogger();
      const firstKey = fingerprint(Buffer.from(server().hostPublicKey.split(' ')[1] ?? '', 'base64'));
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
      expect(existsSync(path.join(server().dir, 'remote', `deploy-${count()}`, 'config.json'))).toBe(false);
      await expect(probe('i-first')).rejects.toThrow(changed);

      // Another instance given the address later in the run is a new host, not a changed key.
      await probe('i-second');
      await deployOverSsh(options({ hostKeys, instanceId: 'i-second', upload: ['config.json'] }));
      expect(existsSync(path.join(server().dir, 'remote', `deploy-${count()}`, 'config.json'))).toBe(true);
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
