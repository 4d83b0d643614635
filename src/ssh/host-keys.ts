/**
 * Host key checking for the temporary instances.
 *
 * Why accept-new is the default: each temporary instance is launched by this run and generates
 * fresh host keys on first boot, so no known_hosts file could list them in advance. The useful
 * guarantee is trust-on-first-use scoped to one run: the first key seen for host:port is pinned,
 * and every later connection of the same run (the deploy after the readiness probe, a reconnect)
 * must present that same key, or it is refused. `strict` is for users who pre-provision host keys
 * (e.g. baked into the AMI) and pass them as known_hosts lines; `off` accepts anything.
 */
import type { SshConfig } from '../config.js';
import {
  entryMatches,
  fingerprint,
  lookupName,
  parseKnownHosts,
  type KnownHostEntry,
} from './known-hosts.js';

/** Decides whether the key a server presents is trusted; one instance lives for one run. */
export interface HostKeyVerifier {
  verify(host: string, port: number, key: Buffer): boolean;
  /** The policy in words, for logs and error messages. */
  describe(): string;
  /** Why `verify` refused this key (undefined when it would accept it), for a clear error. */
  refusal?(host: string, port: number, key: Buffer): string | undefined;
  /** A warning to log once per run (returned the first time only), e.g. that checking is off. */
  notice?(): string | undefined;
}

/**
 * Builds the verifier for the run's `ssh-host-key-checking` mode. Pins are kept in this object, not
 * in a module, so two runs (or two tests) never share trust.
 */
export function createHostKeyVerifier(ssh: SshConfig): HostKeyVerifier {
  const known = parseKnownHosts(ssh.knownHosts);
  switch (ssh.hostKeyChecking) {
    case 'off':
      return offVerifier();
    case 'strict':
      return listVerifier(known, 'strict: only keys listed in ssh-known-hosts are accepted', false);
    case 'accept-new':
      return listVerifier(
        known,
        'accept-new: the first key seen per host:port is pinned for the rest of the run',
        true,
      );
  }
}

function offVerifier(): HostKeyVerifier {
  let warned = false;
  return {
    verify: () => true,
    describe: () => 'off: any host key is accepted',
    refusal: () => undefined,
    notice: () => {
      if (warned) return undefined;
      warned = true;
      return 'ssh-host-key-checking is off: any host key is accepted, so a machine in the middle would not be noticed';
    },
  };
}

/**
 * Strict and accept-new share one rule: hosts named in known_hosts must present a listed key.
 * Accept-new additionally pins the first key of any host known_hosts does not name.
 */
function listVerifier(
  known: readonly KnownHostEntry[],
  description: string,
  pinNew: boolean,
): HostKeyVerifier {
  const pins = new Map<string, Buffer>();
  const refusal = (host: string, port: number, key: Buffer): string | undefined => {
    const name = lookupName(host, port);
    const shown = `${key.length > 0 ? fingerprint(key) : 'empty key'}`;
    const entries = known.filter((entry) => entryMatches(entry, host, port));
    if (entries.some((entry) => entry.marker === 'revoked' && entry.key.equals(key))) {
      return `host key ${shown} of ${name} is marked @revoked in ssh-known-hosts`;
    }
    const listed = entries.filter((entry) => entry.marker === 'none');
    if (listed.length > 0) {
      if (listed.some((entry) => entry.key.equals(key))) return undefined;
      return `host key ${shown} of ${name} does not match the ${listed.length} key(s) ssh-known-hosts lists for it`;
    }
    if (!pinNew) return `no key for ${name} in ssh-known-hosts (host key ${shown}; checking is strict)`;
    const pinned = pins.get(name);
    if (pinned && !pinned.equals(key)) {
      return `host key changed for ${name} during this run: first saw ${fingerprint(pinned)}, now ${shown}; refusing to connect`;
    }
    return undefined;
  };
  return {
    describe: () => description,
    refusal,
    verify(host, port, key) {
      if (refusal(host, port, key) !== undefined) return false;
      const name = lookupName(host, port);
      if (pinNew && !pins.has(name)) pins.set(name, Buffer.from(key));
      return true;
    },
    notice: () => undefined,
  };
}
