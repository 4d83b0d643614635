// The EC2 Instance Connect Endpoint's OpenTunnel: a WebSocket over TLS on its own 127.0.0.1 port (every
// endpoint's DnsName), presigned with SigV4 for the service `ec2-instance-connect`, carrying one TCP
// connection to privateIpAddress:remotePort in binary frames — the protocol the AWS CLI's
// `ec2-instance-connect open-tunnel` speaks. What it enforces, from "Connect using EC2 Instance Connect
// Endpoint" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/connect-using-eice.html): at most 20
// concurrent connections per endpoint, a maximum tunnel duration of 3,600 seconds, and (as the
// simulator models every instance as in its VPC or not) instances of the endpoint's VPC only.
//
// Refusals come before the upgrade, as an HTTP status with a plain-text body (what a client sees as a
// failed handshake); a target that refuses the TCP connection closes the WebSocket with code 1011.
// The certificate is self-signed for IP 127.0.0.1: its PEM is in `caFile`, for NODE_EXTRA_CA_CERTS.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';

import { generate } from 'selfsigned';
import { WebSocketServer, type WebSocket } from 'ws';

import { SimError } from './errors.js';
import type { Calls } from './server.js';
import { verifyPresigned } from './sigv4.js';
import type { World } from './world.js';

/** "Maximum duration for an established TCP connection: 1 hour (3,600 seconds)" (page above). */
export const MaxTunnelDurationSeconds = 3600;

export interface Tunnel {
  readonly id: number;
  readonly endpointId: string;
  readonly privateIpAddress: string;
  readonly remotePort: number;
  /** Seconds after which the simulator closes it (simulated time). */
  readonly maxTunnelDuration: number;
  /** Simulated ms when it opened. */
  readonly openedAt: number;
  /** Simulated ms when it closed; undefined while open. */
  closedAt?: number;
  closeCode?: number;
  closeReason?: string;
}

interface Live {
  tunnel: Tunnel;
  close(code: number, reason: string): void;
}

type Refusal = { status: number; code: string; message: string };

const refusal = (status: number, code: string, message: string): Refusal => ({ status, code, message });

export class TunnelServer {
  private readonly live = new Map<number, Live>();
  private readonly closed: Tunnel[] = [];
  private readonly sockets = new Set<Duplex>();
  private next = 1;

  private constructor(
    private readonly world: World,
    private readonly calls: Calls,
    private readonly server: https.Server,
    private readonly wss: WebSocketServer,
    /** Path of the PEM certificate (self-signed, IP 127.0.0.1) to trust. */
    readonly caFile: string,
    readonly caPem: string,
    private readonly dir: string,
  ) {}

  static async start(world: World, calls: Calls): Promise<TunnelServer> {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 7 * 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'asg-rolling-eice-'));
    const caFile = path.join(dir, 'eice-ca.pem');
    await writeFile(caFile, pems.cert);
    const server = https.createServer({ key: pems.private, cert: pems.cert });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    wss.on('headers', (headers) => headers.push(`x-amzn-RequestId: ${randomUUID()}`));
    const tunnels = new TunnelServer(world, calls, server, wss, caFile, pems.cert, dir);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void tunnels.upgrade(req, socket, head);
    });
    // Anything but a WebSocket upgrade is not OpenTunnel.
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('OpenTunnel needs a WebSocket upgrade.\n');
    });
    server.on('secureConnection', (s) => {
      tunnels.sockets.add(s);
      s.on('close', () => tunnels.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    world.tunnelAddress = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    world.onEndpointDeleted = (id) => tunnels.closeAll('the endpoint was deleted', id);
    return tunnels;
  }

  /** host:port, every endpoint's DnsName. */
  get address(): string {
    return this.world.tunnelAddress;
  }

  /** Open tunnels (of one endpoint), oldest first. */
  open(endpointId?: string): Tunnel[] {
    return [...this.live.values()]
      .map((l) => l.tunnel)
      .filter((t) => endpointId === undefined || t.endpointId === endpointId);
  }

  /** Every tunnel so far, closed ones included. */
  all(): Tunnel[] {
    return [...this.closed, ...this.open()].sort((a, b) => a.id - b.id);
  }

  /** Closes open tunnels (of one endpoint) with code 1001 (going away). */
  closeAll(reason: string, endpointId?: string): void {
    for (const l of [...this.live.values()])
      if (endpointId === undefined || l.tunnel.endpointId === endpointId) l.close(1001, reason);
  }

  /** Forgets closed tunnels and closes open ones (reset). */
  reset(): void {
    this.closeAll('the simulator was reset');
    this.closed.length = 0;
  }

  async stop(): Promise<void> {
    this.closeAll('the simulator stopped');
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    await rm(this.dir, { recursive: true, force: true });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = performance.now();
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', `https://${this.address}`);
    const q = url.searchParams;
    const params: Record<string, unknown> = {
      instanceConnectEndpointId: q.get('instanceConnectEndpointId') ?? undefined,
      remotePort: q.get('remotePort') ?? undefined,
      privateIpAddress: q.get('privateIpAddress') ?? undefined,
      maxTunnelDuration: q.get('maxTunnelDuration') ?? undefined,
    };
    let observed: unknown;
    const record = (status: number, code?: string): void =>
      this.calls.add({
        time: new Date().toISOString(),
        service: 'ec2-instance-connect',
        action: 'OpenTunnel',
        params,
        outcome: code ? (status === 429 ? 'throttled' : 'error') : 'ok',
        ...(code ? { code } : {}),
        status,
        ms: performance.now() - started,
        ...(observed === undefined ? {} : { observed }),
      });
    const refuse = (r: Refusal): void => {
      record(r.status, r.code);
      const body = `${r.message}\n`;
      socket.end(
        `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}\r\n` +
          'Content-Type: text/plain; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `x-amzn-RequestId: ${requestId}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
    };
    socket.on('error', () => socket.destroy());
    try {
      const verdict = await this.check(req, url, params, (o) => (observed = o));
      if ('status' in verdict) return refuse(verdict);
      const { endpointId, ip, port, duration } = verdict;
      const endpoint = this.world.state.instanceConnectEndpoints.get(endpointId);
      const max = endpoint?.maxConnections ?? 0;
      // Counted synchronously with the admission so that simultaneous handshakes cannot all slip in.
      // AWS documents the limit but not the refusal's status: 429 (Too Many Requests) says what it is.
      if (this.open(endpointId).length >= max)
        return refuse(
          refusal(
            429,
            'TooManyConnections',
            `The EC2 Instance Connect Endpoint ${endpointId} already has ${max} open connections, its maximum.`,
          ),
        );
      const tunnel: Tunnel = {
        id: this.next++,
        endpointId,
        privateIpAddress: ip,
        remotePort: port,
        maxTunnelDuration: duration,
        openedAt: this.world.clock.simTime(),
      };
      const placeholder: Live = { tunnel, close: () => socket.destroy() };
      this.live.set(tunnel.id, placeholder);
      record(101);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.carry(ws, tunnel));
    } catch (err) {
      if (!(err instanceof SimError)) console.error('sim: OpenTunnel failed:', err);
      const e =
        err instanceof SimError ? err : new SimError('InternalError', 'An internal error has occurred', 500);
      refuse(refusal(e.status, e.code, e.message));
    }
  }

  /** Every refusal before the upgrade, in the order the service would find them. */
  private async check(
    req: IncomingMessage,
    url: URL,
    params: Record<string, unknown>,
    observe: (o: unknown) => void,
  ): Promise<Refusal | { endpointId: string; ip: string; port: number; duration: number }> {
    if (url.pathname !== '/openTunnel') return refusal(404, 'NotFound', `No such resource: ${url.pathname}`);
    const { world } = this;
    const verdict = await verifyPresigned(url, req.headers.host ?? '', {
      region: world.state.region,
      service: 'ec2-instance-connect',
    });
    if (!verdict.ok) return refusal(403, verdict.code, verdict.message);
    const endpointId = String(params.instanceConnectEndpointId ?? '');
    const ip = String(params.privateIpAddress ?? '');
    const portText = String(params.remotePort ?? '');
    const durationText =
      params.maxTunnelDuration === undefined ? undefined : String(params.maxTunnelDuration);
    if (!endpointId || !ip || !portText)
      return refusal(
        400,
        'InvalidParameter',
        'instanceConnectEndpointId, remotePort and privateIpAddress are required.',
      );
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535)
      return refusal(400, 'InvalidParameter', `remotePort ${portText} is not a TCP port.`);
    const duration = durationText === undefined ? MaxTunnelDurationSeconds : Number(durationText);
    if (durationText !== undefined && (!/^\d+$/.test(durationText) || duration < 1))
      return refusal(
        400,
        'InvalidParameter',
        `maxTunnelDuration ${durationText} is not a number of seconds.`,
      );
    if (duration > MaxTunnelDurationSeconds)
      return refusal(
        400,
        'InvalidParameter',
        `maxTunnelDuration ${duration} exceeds the maximum of ${MaxTunnelDurationSeconds} seconds.`,
      );
    const fault = world.faults.forCall('ec2-instance-connect', 'OpenTunnel', params);
    if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    const failure = fault.fail?.error;
    if (failure === 'throttle') return refusal(429, 'ThrottlingException', 'Rate exceeded');
    if (failure === 'server') return refusal(500, 'InternalError', 'An internal error has occurred');
    if (failure)
      return refusal(
        failure.status ?? 400,
        failure.code,
        failure.message ?? `Injected fault: ${failure.code}`,
      );
    const endpoint = world.state.instanceConnectEndpoints.get(endpointId);
    if (!endpoint)
      return refusal(
        404,
        'InvalidInstanceConnectEndpointId.NotFound',
        `The EC2 Instance Connect Endpoint ${endpointId} does not exist.`,
      );
    if (endpoint.endpoint.State !== 'create-complete')
      return refusal(
        409,
        'IncorrectState',
        `The EC2 Instance Connect Endpoint ${endpointId} is ${endpoint.endpoint.State ?? 'unknown'}, not create-complete.`,
      );
    // The IAM check sees the call as it is decided (ec2-instance-connect:OpenTunnel on the endpoint,
    // with remotePort, privateIpAddress and maxTunnelDuration as condition keys).
    observe(world.observer?.({ service: 'ec2-instance-connect', action: 'OpenTunnel', params }, world.state));
    try {
      world.permissions.check('ec2-instance-connect', 'OpenTunnel', world.state.accountId);
    } catch (err) {
      if (err instanceof SimError) return refusal(err.status, err.code, err.message);
      throw err;
    }
    const vpc = endpoint.endpoint.VpcId;
    const inVpc = [...world.state.instances.values()].some(
      (r) =>
        r.instance.PrivateIpAddress === ip &&
        r.instance.VpcId === vpc &&
        r.instance.State?.Name !== 'terminated',
    );
    if (!inVpc)
      return refusal(
        400,
        'InvalidParameter',
        `privateIpAddress ${ip} is not an instance in the VPC ${vpc ?? '?'} of the EC2 Instance Connect Endpoint ${endpointId}.`,
      );
    return { endpointId, ip, port, duration };
  }

  /** Carries binary frames to a TCP connection to the target and back; both end together. */
  private carry(ws: WebSocket, tunnel: Tunnel): void {
    const { world } = this;
    // Instance addresses are all loopback; never connect anywhere else.
    if (!tunnel.privateIpAddress.startsWith('127.')) {
      ws.close(1011, 'refusing to connect outside loopback');
      return;
    }
    const upstream = net.connect({ host: tunnel.privateIpAddress, port: tunnel.remotePort, noDelay: true });
    let connected = false;
    const queued: Buffer[] = [];
    let done = false;
    const close = (code: number, reason: string): void => {
      if (done) return;
      done = true;
      cancelTimer();
      tunnel.closedAt = world.clock.simTime();
      tunnel.closeCode = code;
      tunnel.closeReason = reason;
      this.live.delete(tunnel.id);
      this.closed.push(tunnel);
      upstream.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason.slice(0, 120));
      // A peer that never answers the close frame is cut after a moment.
      setTimeout(() => ws.terminate(), 2_000).unref();
    };
    this.live.set(tunnel.id, { tunnel, close });
    const cancelTimer = world.clock.after(tunnel.maxTunnelDuration * world.tunnelMsPerSecond, () =>
      close(1000, `The tunnel reached its maximum duration of ${tunnel.maxTunnelDuration} seconds.`),
    );
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (!isBinary) return close(1003, 'The tunnel carries binary frames only.');
      const chunk = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      if (!connected) return void queued.push(chunk);
      if (!upstream.write(chunk)) {
        ws.pause();
        upstream.once('drain', () => ws.resume());
      }
    });
    ws.on('close', () => close(1000, 'closed by the client'));
    ws.on('error', () => close(1011, 'WebSocket error'));
    upstream.on('connect', () => {
      connected = true;
      for (const chunk of queued.splice(0)) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      ws.send(chunk, { binary: true });
      // Back-pressure: stop reading the target while the client is slow to take what was sent.
      if (ws.bufferedAmount > 1 << 20) {
        upstream.pause();
        const resume = (): void => {
          if (ws.bufferedAmount > 1 << 18 && !done) return void setTimeout(resume, 5);
          upstream.resume();
        };
        setTimeout(resume, 5);
      }
    });
    upstream.on('error', (err: NodeJS.ErrnoException) =>
      close(
        1011,
        connected
          ? `The connection to ${tunnel.privateIpAddress}:${tunnel.remotePort} failed: ${err.code ?? err.message}`
          : `Could not connect to ${tunnel.privateIpAddress}:${tunnel.remotePort}: ${err.code ?? err.message}`,
      ),
    );
    upstream.on('end', () => close(1000, 'The remote host closed the connection.'));
    upstream.on('close', () => close(1000, 'The remote host closed the connection.'));
  }
}
