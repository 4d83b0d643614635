/**
 * The host key type a connection asks for, and the known_hosts line setup hands on: a server with
 * an ed25519 and an ECDSA key must be asked for the one known_hosts lists, as OpenSSH does.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import type { SshConfig } from '../../../src/config/index.js';
import { knownHostsLine, parseKnownHosts } from '../../../src/config/known-hosts.js';
import { temporaryInstanceSchema } from '../../../src/config/hand-off.js';
import { systemClock, type Logger } from '../../../src/lib/runtime.js';
import { hostKeyAlgorithms, hostKeyCheck } from '../../../src/ssh/host-keys.js';
import { createHostKeyVerifier, waitForSsh } from '../../../src/ssh/index.js';

function blob(type: string): Buffer {
  const name = Buffer.from(type);
  const data = randomBytes(32);
  const length = (b: Buffer): Buffer => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(b.length);
    return out;
  };
  return Buffer.concat([length(name), name, length(data), data]);
}

const lineOf = (hosts: string, key: Buffer, type = 'ssh-ed25519'): string =>
  `${hosts} ${type} ${key.toString('base64')}`;

function ssh(overrides: Partial<SshConfig>): SshConfig {
  return {
    user: 'ec2-user',
    privateKey: '',
    port: 22,
    address: 'private',
    timeoutSeconds: 300,
    hostKeyChecking: 'accept-new',
    knownHosts: [],
    ...overrides,
  };
}

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  child: () => quiet,
};

describe('hostKeyAlgorithms', () => {
  it('maps known_hosts key types to the algorithms that key signs with, in order, without repeats', () => {
    expect(hostKeyAlgorithms(['ecdsa-sha2-nistp256'])).toEqual(['ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519', 'ssh-rsa'])).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
  });

  it('leaves the defaults alone when nothing is listed or ssh2 cannot verify the type', () => {
    expect(hostKeyAlgorithms(undefined)).toBeUndefined();
    expect(hostKeyAlgorithms([])).toBeUndefined();
    expect(hostKeyAlgorithms(['sk-ssh-ed25519@openssh.com', 'constructor'])).toBeUndefined();
  });
});

describe('the key types a verifier asks for', () => {
  const ecdsa = blob('ecdsa-sha2-nistp256');
  const ed25519 = blob('ssh-ed25519');
  const knownHosts = [lineOf('192.0.2.*', ecdsa, 'ecdsa-sha2-nistp256'), lineOf('198.51.100.7', ed25519)];
  const at = (host: string, instanceId?: string) => ({ host, port: 22, instanceId });

  it('strict: the types listed for that host only', () => {
    const verifier = createHostKeyVerifier(ssh({ hostKeyChecking: 'strict', knownHosts }));
    expect(verifier.keyTypes?.(at('192.0.2.5'))).toEqual(['ecdsa-sha2-nistp256']);
    expect(verifier.keyTypes?.(at('198.51.100.7'))).toEqual(['ssh-ed25519']);
    expect(verifier.keyTypes?.(at('203.0.113.1'))).toBeUndefined();
    expect(hostKeyCheck(verifier, at('192.0.2.5')).algorithms()).toEqual(['ecdsa-sha2-nistp256']);
  });

  it('accept-new: the listed types, else the type pinned for the instance once the probe pinned one', () => {
    const verifier = createHostKeyVerifier(ssh({ knownHosts }));
    expect(verifier.keyTypes?.(at('192.0.2.5'))).toEqual(['ecdsa-sha2-nistp256']);
    const target = at('203.0.113.1', 'i-0new');
    expect(verifier.keyTypes?.(target)).toBeUndefined();
    expect(verifier.verify(target, ecdsa)).toBe(true);
    expect(hostKeyCheck(verifier, target).algorithms()).toEqual(['ecdsa-sha2-nistp256']);
  });

  it('off: any type', () => {
    const verifier = createHostKeyVerifier(ssh({ hostKeyChecking: 'off', knownHosts }));
    expect(hostKeyCheck(verifier, at('192.0.2.5')).algorithms()).toBeUndefined();
  });
});

describe('knownHostsLine and the hostKey of a temporary instance', () => {
  const key = blob('ssh-ed25519');
  const instance = { instanceId: 'i-0abc', address: '192.0.2.5', sourceImageId: 'ami-1', groups: ['web'] };

  it('writes the line ssh looks up: the bare address on port 22, [address]:port elsewhere', () => {
    expect(knownHostsLine('192.0.2.5', 22, key)).toBe(`192.0.2.5 ssh-ed25519 ${key.toString('base64')}`);
    const line = knownHostsLine('192.0.2.5', 2222, key) ?? '';
    expect(line).toBe(`[192.0.2.5]:2222 ssh-ed25519 ${key.toString('base64')}`);
    expect(parseKnownHosts([line])[0]?.key.equals(key)).toBe(true);
    expect(knownHostsLine('192.0.2.5', 22, Buffer.from('junk'))).toBeUndefined();
  });

  it('the hand-off accepts one plain known_hosts line and nothing else', () => {
    const ok = (hostKey: string): boolean =>
      temporaryInstanceSchema.safeParse({ ...instance, hostKey }).success;
    expect(temporaryInstanceSchema.safeParse(instance).success).toBe(true);
    expect(ok(knownHostsLine('192.0.2.5', 22, key) ?? '')).toBe(true);
    expect(ok('192.0.2.5 ssh-ed25519 AAAA')).toBe(false);
    expect(ok(`@revoked ${lineOf('192.0.2.5', key)}`)).toBe(false);
    expect(ok(`${lineOf('192.0.2.5', key)}\n${lineOf('evil', key)}`)).toBe(false);
    expect(ok('')).toBe(false);
  });
});

describe('waitForSsh against a server with an ed25519 and an ECDSA host key', () => {
  let server: InstanceType<typeof ssh2.Server> | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function start(): Promise<{ port: number; ed25519: Buffer; ecdsa: Buffer }> {
    const pairs = [
      ssh2.utils.generateKeyPairSync('ed25519'),
      ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }),
    ];
    const publicBlob = (text: string): Buffer => {
      const parsed = ssh2.utils.parseKey(text);
      if (parsed instanceof Error) throw parsed;
      return parsed.getPublicSSH();
    };
    const listening = new ssh2.Server({ hostKeys: pairs.map((p) => p.private) }, (client) => {
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => ctx.reject());
    });
    server = listening;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    const { port } = listening.address() as AddressInfo;
    return { port, ed25519: publicBlob(pairs[0]!.public), ecdsa: publicBlob(pairs[1]!.public) };
  }

  const wait = (port: number, config: SshConfig) =>
    waitForSsh({
      host: '127.0.0.1',
      port,
      timeoutMs: 10_000,
      clock: systemClock,
      signal: new AbortController().signal,
      log: quiet,
      hostKeys: createHostKeyVerifier(config),
    });

  it('strict with an ECDSA line is shown the ECDSA key and accepts it; the proven key comes back', async () => {
    const { port, ed25519, ecdsa } = await start();
    // Unpinned, ssh2 prefers ed25519: that is the key a strict ECDSA line used to be compared with.
    expect((await wait(port, ssh({ hostKeyChecking: 'off' })))?.equals(ed25519)).toBe(true);
    const line = lineOf(`[127.0.0.1]:${port}`, ecdsa, 'ecdsa-sha2-nistp256');
    const key = await wait(port, ssh({ hostKeyChecking: 'strict', knownHosts: [line] }));
    expect(key?.equals(ecdsa)).toBe(true);
  });

  it('strict still refuses a server that holds neither listed key', async () => {
    const { port } = await start();
    const line = lineOf(`[127.0.0.1]:${port}`, blob('ecdsa-sha2-nistp256'), 'ecdsa-sha2-nistp256');
    await expect(wait(port, ssh({ hostKeyChecking: 'strict', knownHosts: [line] }))).rejects.toThrow(
      /does not match the 1 key\(s\) ssh-known-hosts lists/,
    );
  });
});
