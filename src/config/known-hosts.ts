/**
 * OpenSSH known_hosts lines, parsed and matched the way ssh(1) does: comma-separated host
 * patterns with `*`/`?` wildcards and `!` negation, `[host]:port` for ports other than 22, hashed
 * `|1|salt|hash` names, and the `@revoked` marker. `@cert-authority` lines are refused: only plain
 * host keys are checked, and a CA line that silently matched nothing would turn into a confusing
 * refusal of every host it was meant to vouch for.
 */
import { createHmac, createHash } from 'node:crypto';

export interface KnownHostEntry {
  /** `revoked`: this key is refused for the hosts it names, whatever else matches. */
  readonly marker: 'none' | 'revoked';
  /** Raw host field: patterns or one hashed name. */
  readonly hosts: string;
  readonly keyType: string;
  /** The public key blob, exactly as the server sends it in the key exchange. */
  readonly key: Buffer;
}

/** Thrown for a known_hosts line we cannot read, quoting the line so the user can fix it. */
export class KnownHostsError extends Error {
  override name = 'KnownHostsError';
  constructor(
    message: string,
    /** What the line must be, without the line itself: config's messages quote it on their own. */
    readonly expected: string,
  ) {
    super(message);
  }
}

const LineShape = '"host[,host2] key-type base64-key"';
const CertAuthorityRefused =
  "a known_hosts line of a host's own key: @cert-authority lines are not supported (host certificates are not checked), so list the hosts' keys instead";

/**
 * Reads known_hosts lines so strict checking (and accept-new with known hosts given) can compare
 * the key a server presents. Blank lines and comments are ignored; a malformed line is an error,
 * because silently dropping it would turn into a confusing "host key not trusted" later.
 */
export function parseKnownHosts(lines: readonly string[]): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const [index, raw] of lines.flatMap((l) => l.split(/\r?\n/)).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = 'none';
    if (fields[0]?.startsWith('@')) {
      if (fields[0] === '@cert-authority')
        throw new KnownHostsError(
          `known_hosts line ${index + 1} '${line}': @cert-authority is not supported`,
          CertAuthorityRefused,
        );
      if (fields[0] !== '@revoked')
        throw new KnownHostsError(
          `Unknown marker in known_hosts line ${index + 1} '${line}'`,
          `a known_hosts line with no marker or @revoked (not ${fields[0]})`,
        );
      marker = 'revoked';
      fields = fields.slice(1);
    }
    const [hosts, keyType, base64] = fields;
    if (!hosts || !keyType || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
      throw new KnownHostsError(
        `Cannot read known_hosts line ${index + 1} '${line}': expected ${LineShape}`,
        `a known_hosts line ${LineShape}`,
      );
    }
    const key = Buffer.from(base64, 'base64');
    const actual = blobKeyType(key);
    if (actual !== keyType) {
      throw new KnownHostsError(
        `known_hosts line ${index + 1} '${line}': the key is not of type ${keyType}`,
        `a known_hosts line whose key is of the type it names (the key is ${actual ?? 'unreadable'}, not of type ${keyType})`,
      );
    }
    entries.push({ marker, hosts, keyType, key });
  }
  return entries;
}

/**
 * The known_hosts line for a key a host proved it holds, e.g. `[192.0.2.5]:2222 ssh-ed25519 AAAA…`:
 * what `ssh -o UserKnownHostsFile=… -o StrictHostKeyChecking=yes` needs to trust that host.
 * Undefined for a blob without a readable key type (it could not be a line anyone parses).
 */
export function knownHostsLine(host: string, port: number, key: Buffer): string | undefined {
  const type = blobKeyType(key);
  return type ? `${lookupName(host, port)} ${type} ${key.toString('base64')}` : undefined;
}

/** The name ssh looks up in known_hosts: the bare host on port 22, `[host]:port` otherwise. */
export function lookupName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Whether an entry's host field names this host and port (hashed, patterns or negations). */
export function entryMatches(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = lookupName(host, port);
  if (entry.hosts.startsWith('|1|')) return hashedMatches(entry.hosts, name);
  let matched = false;
  for (const pattern of entry.hosts.split(',')) {
    if (pattern.startsWith('!')) {
      // A negated match vetoes the whole line, as in ssh's match_hostname().
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** OpenSSH's fingerprint format, for messages people compare with `ssh-keygen -lf`. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written at the start of an SSH public key blob (a length-prefixed string). */
export function blobKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const length = key.readUInt32BE(0);
  if (length === 0 || length > 64 || key.length < 4 + length) return undefined;
  const type = key.subarray(4, 4 + length).toString('latin1');
  // Key type names are printable ASCII; anything else is not a key blob (and not fit for a message).
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

function hashedMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}

function globMatches(pattern: string, name: string): boolean {
  // Host names are case-insensitive; ssh lowercases them before matching.
  const source = [...pattern.toLowerCase()]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(name.toLowerCase());
}
