// What the simulator's EC2 Instance Connect tests share: an OpenTunnel URL presigned the way the AWS
// CLI does it (awscli/customizations/ec2instanceconnect: wss://<DnsName>/openTunnel, query
// instanceConnectEndpointId, remotePort, privateIpAddress, maxTunnelDuration, SigV4 for the service
// ec2-instance-connect, X-Amz-Expires 60, the Host header signed) and a WebSocket client for it.
import { SignatureV4 } from '@smithy/signature-v4';
import WebSocket from 'ws';

import type { Simulator } from './index.js';
import { Sha256 } from './sigv4.js';

export interface TunnelTarget {
  endpointId: string;
  privateIpAddress: string;
  remotePort: number;
  maxTunnelDuration?: number;
}

export async function presignTunnelUrl(
  sim: Simulator,
  target: TunnelTarget,
  opts: { secretAccessKey?: string; accessKeyId?: string; signingDate?: Date; expiresIn?: number } = {},
): Promise<string> {
  const host = sim.instanceConnect.dnsName;
  const [hostname = '', port] = host.split(':');
  const query: Record<string, string> = {
    instanceConnectEndpointId: target.endpointId,
    remotePort: String(target.remotePort),
    privateIpAddress: target.privateIpAddress,
  };
  if (target.maxTunnelDuration !== undefined) query.maxTunnelDuration = String(target.maxTunnelDuration);
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: opts.accessKeyId ?? 'test',
      secretAccessKey: opts.secretAccessKey ?? 'test',
    },
    region: sim.clientConfig().region,
    service: 'ec2-instance-connect',
    sha256: Sha256,
  });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'wss:',
      hostname,
      port: Number(port),
      path: '/openTunnel',
      query,
      headers: { host },
    },
    { expiresIn: opts.expiresIn ?? 60, ...(opts.signingDate ? { signingDate: opts.signingDate } : {}) },
  );
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(signed.query ?? {}))
    for (const value of [v ?? ''].flat()) search.append(k, value);
  return `wss://${host}/openTunnel?${search.toString()}`;
}

export type TunnelResult =
  { open: true; ws: WebSocket; received: Received } | { open: false; status: number; body: string };

/** Everything the far end has sent so far, collected from the moment the tunnel opened. */
export class Received {
  text = '';
  private readonly waiters = new Set<() => void>();
  constructor(ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.text += data.toString('latin1');
      for (const w of this.waiters) w();
    });
    ws.on('close', () => {
      for (const w of this.waiters) w();
    });
    this.ws = ws;
  }
  private readonly ws: WebSocket;

  /** The first line (an SSH server's identification string). */
  firstLine(timeoutMs = 5_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const end = this.text.indexOf('\n');
        if (end >= 0) {
          done();
          resolve(this.text.slice(0, end).trimEnd());
        } else if (this.ws.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`tunnel closed before a line: ${JSON.stringify(this.text)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no line within ${timeoutMs} ms: ${JSON.stringify(this.text)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}

/** Opens the WebSocket, trusting the simulator's certificate; a refused handshake gives its status. */
export function openTunnel(sim: Simulator, url: string): Promise<TunnelResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca: sim.instanceConnect.caPem });
    // Listening from the start: the banner can arrive in the same turn as the upgrade.
    const received = new Received(ws);
    ws.once('open', () => resolve({ open: true, ws, received }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ open: false, status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    ws.once('error', reject);
  });
}

/** Resolves with the close code and reason once the WebSocket closes. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve({ code: 1006, reason: '' });
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}
