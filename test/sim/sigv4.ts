// SigV4 query-string (presigned URL) verification for the Instance Connect Endpoint's OpenTunnel, by
// recomputing the signature with the SDK's own signer (@smithy/signature-v4) and the simulator's known
// credentials. Authenticating requests with query parameters:
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (the same scheme for
// every service; the CLI presigns OpenTunnel this way with X-Amz-Expires 60).
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';

import { SignatureV4 } from '@smithy/signature-v4';

type SourceData = string | ArrayBuffer | ArrayBufferView;

const bytes = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 (HMAC-SHA-256 with a secret) on node:crypto, in the shape the SDK's signer takes. */
export class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/** The simulator's one set of credentials (sim.clientConfig()): access key → secret. */
export const KnownCredentials: Readonly<Record<string, string>> = { test: 'test' };

/** The longest X-Amz-Expires the endpoint takes: the CLI presigns for 60 s. */
export const MaxExpiresSeconds = 60;

const AuthParams = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
];

export type Verdict = { ok: true; accessKeyId: string } | { ok: false; code: string; message: string };

const refuse = (code: string, message: string): Verdict => ({ ok: false, code, message });

/** `20240102T030405Z` → Date, or undefined. */
function amzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const [y = 0, mo = 1, d = 0, h = 0, mi = 0, s = 0] = m.slice(1).map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/**
 * Checks a presigned GET: algorithm, credential scope (known key, today's date, the region, the
 * service), expiry against real time (the signer dates the URL with the wall clock) and the signature
 * over the path, the other query parameters and the Host header.
 */
export async function verifyPresigned(
  url: URL,
  host: string,
  opts: { region: string; service: string; now?: Date },
): Promise<Verdict> {
  const q = url.searchParams;
  const algorithm = q.get('X-Amz-Algorithm');
  const credential = q.get('X-Amz-Credential');
  const date = q.get('X-Amz-Date') ?? '';
  const expires = q.get('X-Amz-Expires');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  const signature = q.get('X-Amz-Signature');
  if (!algorithm || !credential || !date || !expires || !signedHeaders || !signature)
    return refuse(
      'MissingAuthenticationToken',
      'The request is not signed: it needs SigV4 query parameters.',
    );
  if (algorithm !== 'AWS4-HMAC-SHA256')
    return refuse('IncompleteSignature', `Unsupported algorithm ${algorithm}.`);
  const [accessKeyId = '', day, region, service, terminator] = credential.split('/');
  const secret = KnownCredentials[accessKeyId];
  if (secret === undefined)
    return refuse('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (region !== opts.region || service !== opts.service || terminator !== 'aws4_request')
    return refuse(
      'SignatureDoesNotMatch',
      `Credential should be scoped to a valid region and service: expected ${opts.region}/${opts.service}, got ${region}/${service}.`,
    );
  const signedAt = amzDate(date);
  if (!signedAt || day !== date.slice(0, 8))
    return refuse(
      'IncompleteSignature',
      `X-Amz-Date ${date} is not a valid date or does not match the credential.`,
    );
  const seconds = Number(expires);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MaxExpiresSeconds)
    return refuse('AuthFailure', `X-Amz-Expires must be between 1 and ${MaxExpiresSeconds} seconds.`);
  const now = opts.now ?? new Date();
  if (signedAt.getTime() + seconds * 1000 < now.getTime())
    return refuse('ExpiredToken', `Request has expired: signed at ${date}, valid for ${seconds} s.`);
  // A URL dated in the future is as suspect as a stale one (AWS allows 15 minutes of clock skew).
  if (signedAt.getTime() - now.getTime() > 15 * 60_000)
    return refuse('SignatureDoesNotMatch', `Signature not yet current: ${date}.`);

  const query: Record<string, string | string[]> = {};
  for (const [k, v] of q) {
    if (AuthParams.includes(k)) continue;
    const prev = query[k];
    query[k] = prev === undefined ? v : [prev, v].flat();
  }
  const sessionToken = q.get('X-Amz-Security-Token') ?? undefined;
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: secret, ...(sessionToken ? { sessionToken } : {}) },
    region: opts.region,
    service: opts.service,
    sha256: Sha256,
    uriEscapePath: true,
  });
  const [hostname = '', port] = host.split(':');
  const expected = await signer.presign(
    {
      method: 'GET',
      protocol: 'wss:',
      hostname,
      port: port ? Number(port) : undefined,
      path: url.pathname,
      query,
      headers: { host },
    },
    { signingDate: signedAt, expiresIn: seconds },
  );
  const want = String(expected.query?.['X-Amz-Signature'] ?? '');
  const wantHeaders = String(expected.query?.['X-Amz-SignedHeaders'] ?? '');
  const same = want.length === signature.length && timingSafeEqual(Buffer.from(want), Buffer.from(signature));
  if (!same || wantHeaders !== signedHeaders)
    return refuse(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  return { ok: true, accessKeyId };
}
