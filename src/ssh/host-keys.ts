/**
 * Host key checking for the temporary instances.
 *
 * Why accept-new is the default: each temporary instance is launched by this run and generates
 * fresh host keys on first boot, so no known_hosts file could list them in advance. What it gives
 * is trust on first use scoped to one instance and one run: the readiness probe completes a key
 * exchange and pins the key the instance proves it holds, and the deploy connection (and any
 * reconnect) must present that same key, or it is refused. Pins follow the instance id when the
 * caller knows it, so an address reused by another instance later in the run is not mistaken for a
 * changed key. First contact itself is trusted: `strict` with host keys baked into the image (passed
 * as known_hosts lines) is what protects that; `off` accepts anything. `setup` runs the same probe
 * and hands the proven key on, so the user's own deploy tool need not trust on first use again.
 */
import type { ServerHostKeyAlgorithm } from 'ssh2';
import type { SshConfig } from '../config/index.js';
import {
  blobKeyType,
  entryMatches,
  fingerprint,
  lookupName,
  parseKnownHosts,
  type KnownHostEntry,
} from '../config/known-hosts.js';

/** Who is at the other end: the address, and the instance when the caller knows it. */
export interface HostKeyTarget {
  readonly host: string;
  readonly port: number;
  /** The EC2 instance id: pins follow it, so an address reused by another instance is a new host. */
  readonly instanceId?: string | undefined;
}

/** Decides whether the key a server presents is trusted; one instance lives for one run. */
export interface HostKeyVerifier {
  /** Whether the key is trusted; accept-new pins it (when nothing was pinned for the target yet). */
  verify(target: HostKeyTarget, key: Buffer): boolean;
  /** The policy in words, for logs and error messages. */
  describe(): string;
  /** Why `verify` would refuse this key (undefined when it would accept it), pinning nothing. */
  refusal?(target: HostKeyTarget, key: Buffer): string | undefined;
  /** A warning to log once per run (returned the first time only), e.g. that checking is off. */
  notice?(): string | undefined;
  /**
   * The key types (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …) this target must present: those
   * known_hosts lists for it, else the type of the key pinned for it. Undefined when any will do.
   */
  keyTypes?(target: HostKeyTarget): readonly string[] | undefined;
}

/**
 * Builds the verifier for the run's `ssh-host-key-checking` mode. Pins are kept in this object, not
 * in a module, so two runs (or two tests) never share trust. Config has already validated the
 * known_hosts lines, so parsing here cannot fail for a Config from readConfig.
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
        'accept-new: the key an instance first proves is pinned, and any other key from it is refused for the rest of the run',
        true,
      );
  }
}

/** How one connection uses the verifier; see hostKeyCheck. */
export interface HostKeyCheck {
  /** For ssh2's `hostVerifier`: checks the key offered, pinning nothing yet. */
  hostVerifier(key: Buffer): boolean;
  /** Once the handshake is complete: pins the key (accept-new). Returns why it was refused, if it was. */
  confirm(): string | undefined;
  /** Why the key was refused, if it was. */
  refused(): string | undefined;
  /** The key the server offered, once it has. */
  key(): Buffer | undefined;
  /** For ssh2's `algorithms.serverHostKey`: the algorithms of the expected key types, if any. */
  algorithms(): ServerHostKeyAlgorithm[] | undefined;
}

/**
 * The ssh2 host key algorithms that a key of each known_hosts type can sign with. A server with
 * several host keys signs with the first algorithm of the client's list it has a key for, so a
 * client left on ssh2's default order is shown the ed25519 key even when known_hosts lists the
 * ECDSA one, and refuses a host OpenSSH would accept. Types ssh2 cannot verify are left out.
 */
const AlgorithmsOfKeyType: ReadonlyMap<string, readonly ServerHostKeyAlgorithm[]> = new Map([
  ['ssh-ed25519', ['ssh-ed25519']],
  ['ecdsa-sha2-nistp256', ['ecdsa-sha2-nistp256']],
  ['ecdsa-sha2-nistp384', ['ecdsa-sha2-nistp384']],
  ['ecdsa-sha2-nistp521', ['ecdsa-sha2-nistp521']],
  // One RSA key signs with any of these; SHA-2 first, as OpenSSH does.
  ['ssh-rsa', ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']],
  ['ssh-dss', ['ssh-dss']],
]);

/**
 * The host key algorithms to offer for these key types, in their order and without repeats;
 * undefined when there are none (no types, or none ssh2 supports): ssh2's defaults then apply and
 * the key is checked as usual.
 */
export function hostKeyAlgorithms(
  keyTypes: readonly string[] | undefined,
): ServerHostKeyAlgorithm[] | undefined {
  const algorithms = [...new Set((keyTypes ?? []).flatMap((type) => AlgorithmsOfKeyType.get(type) ?? []))];
  return algorithms.length > 0 ? algorithms : undefined;
}

/**
 * Adapts the verifier to one SSH connection. ssh2 asks about the host key before it checks the
 * server's signature over the exchange, so a key is only checked then and pinned after the
 * handshake proved the server holds its private half: nobody can get a key pinned that they
 * do not own.
 */
export function hostKeyCheck(hostKeys: HostKeyVerifier, target: HostKeyTarget): HostKeyCheck {
  let seen: Buffer | undefined;
  let refused: string | undefined;
  const why = (key: Buffer): string =>
    hostKeys.refusal?.(target, key) ??
    `host key ${fingerprint(key)} of ${describeTarget(target)} refused (${hostKeys.describe()})`;
  return {
    hostVerifier(key) {
      seen = Buffer.from(key);
      // A verifier without `refusal` can only answer by verifying, which may pin early.
      const ok = hostKeys.refusal
        ? hostKeys.refusal(target, key) === undefined
        : hostKeys.verify(target, key);
      if (!ok) refused = why(key);
      return ok;
    },
    confirm() {
      if (refused !== undefined) return refused;
      if (!seen) return (refused = `${describeTarget(target)} completed no key exchange`);
      if (!hostKeys.verify(target, seen)) refused = why(seen);
      return refused;
    },
    refused: () => refused,
    key: () => seen,
    algorithms: () => hostKeyAlgorithms(hostKeys.keyTypes?.(target)),
  };
}

/** `i-0abc (192.0.2.5)` when the instance is known, else the known_hosts name of the address. */
export function describeTarget(target: HostKeyTarget): string {
  const name = lookupName(target.host, target.port);
  return target.instanceId ? `${target.instanceId} (${name})` : name;
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
  const pins = createPins();
  const listedFor = (host: string, port: number): KnownHostEntry[] =>
    known.filter((entry) => entry.marker === 'none' && entryMatches(entry, host, port));
  const refusal = (target: HostKeyTarget, key: Buffer): string | undefined => {
    const { host, port } = target;
    const name = lookupName(host, port);
    const shown = `${key.length > 0 ? fingerprint(key) : 'empty key'}`;
    const entries = known.filter((entry) => entryMatches(entry, host, port));
    if (entries.some((entry) => entry.marker === 'revoked' && entry.key.equals(key))) {
      return `host key ${shown} of ${name} is marked @revoked in ssh-known-hosts`;
    }
    const listed = listedFor(host, port);
    if (listed.length > 0) {
      if (listed.some((entry) => entry.key.equals(key))) return undefined;
      return `host key ${shown} of ${name} does not match the ${listed.length} key(s) ssh-known-hosts lists for it`;
    }
    if (!pinNew) return `no key for ${name} in ssh-known-hosts (host key ${shown}; checking is strict)`;
    const pinned = pins.get(target);
    if (pinned && !pinned.equals(key)) {
      return (
        `host key changed for ${describeTarget(target)} during this run: first saw ${fingerprint(pinned)}, ` +
        `now ${shown}; refusing to connect (a machine in the middle, or the instance's host keys were replaced)`
      );
    }
    return undefined;
  };
  return {
    describe: () => description,
    refusal,
    verify(target, key) {
      if (refusal(target, key) !== undefined) return false;
      if (pinNew) pins.pin(target, key);
      return true;
    },
    notice: () => undefined,
    keyTypes(target) {
      const listed = listedFor(target.host, target.port);
      if (listed.length > 0) return [...new Set(listed.map((entry) => entry.keyType))];
      const pinned = pinNew ? pins.get(target) : undefined;
      const type = pinned ? blobKeyType(pinned) : undefined;
      return type ? [type] : undefined;
    },
  };
}

/**
 * Pins by instance id when the caller gives one, else by address. An address also remembers the
 * key of the instance last pinned there, so a caller without the id still meets the newest
 * instance at that address, never an earlier one that held it.
 */
function createPins() {
  const byInstance = new Map<string, Buffer>();
  const byAddress = new Map<string, Buffer>();
  const address = (target: HostKeyTarget): string => lookupName(target.host, target.port);
  return {
    get: (target: HostKeyTarget): Buffer | undefined =>
      target.instanceId ? byInstance.get(target.instanceId) : byAddress.get(address(target)),
    pin(target: HostKeyTarget, key: Buffer): void {
      if (target.instanceId) {
        if (byInstance.has(target.instanceId)) return;
        byInstance.set(target.instanceId, Buffer.from(key));
        byAddress.set(address(target), Buffer.from(key));
      } else if (!byAddress.has(address(target))) {
        byAddress.set(address(target), Buffer.from(key));
      }
    },
  };
}
