import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SshConfig } from '../../../src/config/index.js';
import { createHostKeyVerifier, type HostKeyTarget, type HostKeyVerifier } from '../../../src/ssh/index.js';
import { hostKeyCheck } from '../../../src/ssh/host-keys.js';
import {
  entryMatches,
  fingerprint,
  KnownHostsError,
  lookupName,
  parseKnownHosts,
} from '../../../src/config/known-hosts.js';

/** An SSH public key blob as a server sends it: string key type, then string key data. */
function blob(type = 'ssh-ed25519'): Buffer {
  const name = Buffer.from(type);
  const data = randomBytes(32);
  const header = (b: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length);
    return length;
  };
  return Buffer.concat([header(name), name, header(data), data]);
}

const at = (host: string, port: number, instanceId?: string): HostKeyTarget => ({ host, port, instanceId });
const line = (hosts: string, key: Buffer): string => `${hosts} ssh-ed25519 ${key.toString('base64')}`;

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

// Made with `ssh-keygen -H` from "[127.0.0.1]:2222 …" and "web.example.com …" lines.
const HashedKey = 'AAAAC3NzaC1lZDI1NTE5AAAAINamKMxvVjK62XsIUhQSaoOguzwJh314svvcMhRjNE2c';
const HashedLines = [
  `|1|y6bv83QkZOE1lQomIUUsfyKJd9w=|cbhJkW/LCdvAuK2ZdkeiJV5V0AM= ssh-ed25519 ${HashedKey}`,
  `|1|BEEhCk9jtD66sCmvIhwQ3FCKpqk=|Ly954St74GsuGUDmss5EQaJ5vwc= ssh-ed25519 ${HashedKey}`,
];

describe('parseKnownHosts', () => {
  it('reads host patterns, key type and key blob, skipping comments and blanks', () => {
    const key = blob();
    const entries = parseKnownHosts([
      '# a comment',
      '',
      `${line('web1,192.0.2.5', key)} a trailing comment`,
      `@revoked * ssh-ed25519 ${key.toString('base64')}`,
    ]);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ marker: 'none', hosts: 'web1,192.0.2.5', keyType: 'ssh-ed25519' });
    expect(entries[0]?.key.equals(key)).toBe(true);
    expect(entries[1]).toMatchObject({ marker: 'revoked', hosts: '*' });
  });

  it('refuses @cert-authority lines, naming the line: a CA line would silently match no host key', () => {
    const ca = `@cert-authority *.example.com ssh-ed25519 ${blob().toString('base64')}`;
    expect(() => parseKnownHosts([line('a', blob()), '# CA', ca])).toThrow(
      /known_hosts line 3 .*@cert-authority is not supported/,
    );
    try {
      parseKnownHosts([ca]);
      expect.unreachable();
    } catch (error) {
      expect((error as KnownHostsError).expected).toMatch(/@cert-authority lines are not supported/);
    }
  });

  it('accepts several lines in one string (a multi-line input)', () => {
    expect(parseKnownHosts([`${line('a', blob())}\n${line('b', blob())}\r\n`])).toHaveLength(2);
  });

  it('refuses a malformed line, quoting it', () => {
    expect(() => parseKnownHosts(['just-a-host'])).toThrow(KnownHostsError);
    expect(() => parseKnownHosts(['host ssh-ed25519 not*base64'])).toThrow(/host ssh-ed25519 not\*base64/);
  });

  it('refuses a line whose key type does not match the key', () => {
    expect(() => parseKnownHosts([`host ssh-rsa ${blob('ssh-ed25519').toString('base64')}`])).toThrow(
      /not of type ssh-rsa/,
    );
  });
});

describe('entryMatches', () => {
  const entry = (hosts: string) => parseKnownHosts([line(hosts, blob())])[0]!;

  it('uses the bare name on port 22 and [host]:port elsewhere, as ssh does', () => {
    expect(lookupName('192.0.2.5', 22)).toBe('192.0.2.5');
    expect(lookupName('192.0.2.5', 2222)).toBe('[192.0.2.5]:2222');
    expect(entryMatches(entry('192.0.2.5'), '192.0.2.5', 22)).toBe(true);
    expect(entryMatches(entry('192.0.2.5'), '192.0.2.5', 2222)).toBe(false);
    expect(entryMatches(entry('[192.0.2.5]:2222'), '192.0.2.5', 2222)).toBe(true);
    expect(entryMatches(entry('[192.0.2.5]:2222'), '192.0.2.5', 22)).toBe(false);
  });

  it('matches * and ? wildcards, case-insensitively, and literal dots', () => {
    expect(entryMatches(entry('*'), '198.51.100.9', 22)).toBe(true);
    expect(entryMatches(entry('*'), '198.51.100.9', 2222)).toBe(true);
    expect(entryMatches(entry('192.0.2.*'), '192.0.2.77', 22)).toBe(true);
    expect(entryMatches(entry('192.0.2.*'), '198.51.100.77', 22)).toBe(false);
    expect(entryMatches(entry('192.0.2.?'), '192.0.2.7', 22)).toBe(true);
    expect(entryMatches(entry('192.0.2.?'), '192.0.2.77', 22)).toBe(false);
    expect(entryMatches(entry('192.0.2.5'), '192a0a2a5', 22)).toBe(false);
    expect(entryMatches(entry('Web.Example.COM'), 'web.example.com', 22)).toBe(true);
  });

  it('lets a negated pattern veto the line', () => {
    expect(entryMatches(entry('192.0.2.*,!192.0.2.13'), '192.0.2.12', 22)).toBe(true);
    expect(entryMatches(entry('192.0.2.*,!192.0.2.13'), '192.0.2.13', 22)).toBe(false);
  });

  it('matches hashed names written by ssh-keygen -H', () => {
    const [withPort, plain] = parseKnownHosts(HashedLines);
    expect(entryMatches(withPort!, '127.0.0.1', 2222)).toBe(true);
    expect(entryMatches(withPort!, '127.0.0.1', 22)).toBe(false);
    expect(entryMatches(withPort!, '127.0.0.2', 2222)).toBe(false);
    expect(entryMatches(plain!, 'web.example.com', 22)).toBe(true);
    expect(entryMatches(plain!, 'db.example.com', 22)).toBe(false);
  });
});

describe('createHostKeyVerifier', () => {
  it('accept-new pins the first key per host:port and refuses a changed one', () => {
    const verifier = createHostKeyVerifier(ssh({ hostKeyChecking: 'accept-new' }));
    const first = blob();
    const second = blob();
    expect(verifier.verify(at('192.0.2.5', 22), first)).toBe(true);
    expect(verifier.verify(at('192.0.2.5', 22), first)).toBe(true);
    expect(verifier.verify(at('192.0.2.5', 22), second)).toBe(false);
    const why = verifier.refusal?.(at('192.0.2.5', 22), second) ?? '';
    expect(why).toContain('host key changed for 192.0.2.5');
    expect(why).toContain(fingerprint(first));
    expect(why).toContain(fingerprint(second));
    // Another port or host is another machine as far as pins go.
    expect(verifier.verify(at('192.0.2.5', 2222), second)).toBe(true);
    expect(verifier.verify(at('192.0.2.6', 22), second)).toBe(true);
    expect(verifier.verify(at('192.0.2.5', 22), first)).toBe(true);
  });

  it('accept-new pins per instance when the id is known, so a reused address is a new host', () => {
    const verifier = createHostKeyVerifier(ssh({}));
    const first = blob();
    const second = blob();
    expect(verifier.verify(at('192.0.2.5', 22, 'i-1'), first)).toBe(true);
    // i-1 is gone; i-2 got its address with its own fresh keys.
    expect(verifier.verify(at('192.0.2.5', 22, 'i-2'), second)).toBe(true);
    expect(verifier.verify(at('192.0.2.5', 22, 'i-2'), second)).toBe(true);
    expect(verifier.verify(at('192.0.2.5', 22, 'i-2'), first)).toBe(false);
    expect(verifier.refusal?.(at('192.0.2.5', 22, 'i-2'), first)).toMatch(
      /^host key changed for i-2 \(192\.0\.2\.5\) during this run: first saw SHA256:/,
    );
    // A caller without the id meets the instance last pinned at the address, not the earlier one.
    expect(verifier.verify(at('192.0.2.5', 22), first)).toBe(false);
    expect(verifier.verify(at('192.0.2.5', 22), second)).toBe(true);
    // A pin follows the instance, not a later pin at its address.
    expect(verifier.verify(at('192.0.2.5', 22, 'i-1'), first)).toBe(true);
  });

  it('accept-new keeps pins per verifier, so a new run trusts afresh', () => {
    const key = blob();
    createHostKeyVerifier(ssh({})).verify(at('192.0.2.5', 22), key);
    expect(createHostKeyVerifier(ssh({})).verify(at('192.0.2.5', 22), blob())).toBe(true);
  });

  it('accept-new still holds hosts listed in known_hosts to their listed keys', () => {
    const listed = blob();
    const verifier = createHostKeyVerifier(ssh({ knownHosts: [line('192.0.2.5', listed)] }));
    expect(verifier.verify(at('192.0.2.5', 22), blob())).toBe(false);
    expect(verifier.refusal?.(at('192.0.2.5', 22), blob())).toMatch(/does not match the 1 key/);
    expect(verifier.verify(at('192.0.2.5', 22), listed)).toBe(true);
  });

  it('strict accepts only listed keys, including hashed entries', () => {
    const listed = blob();
    const verifier = createHostKeyVerifier(
      ssh({
        hostKeyChecking: 'strict',
        knownHosts: [line('[127.0.0.1]:2022,192.0.2.*', listed), ...HashedLines],
      }),
    );
    expect(verifier.verify(at('127.0.0.1', 2022), listed)).toBe(true);
    expect(verifier.verify(at('192.0.2.9', 22), listed)).toBe(true);
    expect(verifier.verify(at('192.0.2.9', 22), blob())).toBe(false);
    expect(verifier.verify(at('198.51.100.19', 22), listed)).toBe(false);
    expect(verifier.refusal?.(at('198.51.100.19', 22), listed)).toMatch(
      /no key for 198\.51\.100\.19 in ssh-known-hosts/,
    );
    expect(verifier.verify(at('127.0.0.1', 2222), Buffer.from(HashedKey, 'base64'))).toBe(true);
    // Strict never pins: an unlisted key stays refused after being seen.
    const unlisted = blob();
    expect(verifier.verify(at('198.51.100.99', 22), unlisted)).toBe(false);
    expect(verifier.verify(at('198.51.100.99', 22), unlisted)).toBe(false);
    expect(verifier.describe()).toMatch(/^strict/);
  });

  it('refuses a key marked @revoked even when another line lists it', () => {
    const key = blob();
    const verifier = createHostKeyVerifier(
      ssh({ hostKeyChecking: 'strict', knownHosts: [line('*', key), `@revoked ${line('192.0.2.5', key)}`] }),
    );
    expect(verifier.verify(at('192.0.2.6', 22), key)).toBe(true);
    expect(verifier.verify(at('192.0.2.5', 22), key)).toBe(false);
    expect(verifier.refusal?.(at('192.0.2.5', 22), key)).toMatch(/@revoked/);
  });

  it('off accepts any key and has a warning to give once', () => {
    const verifier = createHostKeyVerifier(ssh({ hostKeyChecking: 'off' }));
    expect(verifier.verify(at('192.0.2.5', 22), blob())).toBe(true);
    expect(verifier.verify(at('192.0.2.5', 22), blob())).toBe(true);
    expect(verifier.notice?.()).toMatch(/off/);
    expect(verifier.notice?.()).toBeUndefined();
  });

  it('reports a bad known_hosts line when the verifier is made, not at the first connection', () => {
    expect(() => createHostKeyVerifier(ssh({ hostKeyChecking: 'strict', knownHosts: ['nonsense'] }))).toThrow(
      KnownHostsError,
    );
  });
});

describe('hostKeyCheck', () => {
  it('checks the key offered without pinning it; the end of the handshake pins it', () => {
    const verifier = createHostKeyVerifier(ssh({}));
    const target = at('192.0.2.5', 22, 'i-1');
    const offered = blob();
    const unproved = hostKeyCheck(verifier, target);
    expect(unproved.hostVerifier(offered)).toBe(true);
    // That connection never completed its key exchange: another key is still free to be pinned.
    const other = blob();
    const proved = hostKeyCheck(verifier, target);
    expect(proved.hostVerifier(other)).toBe(true);
    expect(proved.confirm()).toBeUndefined();
    expect(proved.key()?.equals(other)).toBe(true);
    const later = hostKeyCheck(verifier, target);
    expect(later.hostVerifier(offered)).toBe(false);
    expect(later.refused()).toMatch(/host key changed for i-1/);
    expect(later.confirm()).toBe(later.refused());
  });

  it('uses verify when the verifier cannot explain itself, and says so', () => {
    const calls: Buffer[] = [];
    const verifier: HostKeyVerifier = {
      verify: (_target, key) => (calls.push(key), false),
      describe: () => 'fake policy',
    };
    const check = hostKeyCheck(verifier, at('192.0.2.5', 2222));
    const key = blob();
    expect(check.hostVerifier(key)).toBe(false);
    expect(calls).toHaveLength(1);
    expect(check.refused()).toBe(`host key ${fingerprint(key)} of [192.0.2.5]:2222 refused (fake policy)`);
  });

  it('refuses to confirm when no key was offered', () => {
    expect(hostKeyCheck(createHostKeyVerifier(ssh({})), at('192.0.2.5', 22)).confirm()).toMatch(
      /completed no key exchange/,
    );
  });
});
