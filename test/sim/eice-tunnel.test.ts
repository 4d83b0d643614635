// The EC2 Instance Connect Endpoint's OpenTunnel WebSocket, as described in "Connect using EC2 Instance
// Connect Endpoint" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/connect-using-eice.html):
// "Each EC2 Instance Connect Endpoint can support up to 20 concurrent connections" and "Maximum
// duration for an established TCP connection: 1 hour (3,600 seconds)"; the URL is presigned as the
// AWS CLI's open-tunnel does (https://docs.aws.amazon.com/cli/latest/reference/ec2-instance-connect/open-tunnel.html).
import net from 'node:net';

import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type Simulator } from './index.js';
import { closed, openTunnel, presignTunnelUrl, type TunnelResult } from './instance-connect-kit.js';
import { OtherVpc } from './state.js';
import { clients } from './testkit.js';

const Banner = 'SSH-2.0-SimGate_1.0';

let sim: Simulator;
let target: net.Server;
let gatePort: number;
let endpointId: string;
let address: string;

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  // An SSH-like server: greets with its identification line and echoes what it gets.
  target = net.createServer((socket) => {
    socket.write(`${Banner}\r\n`);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => undefined);
  });
  const targetPort = await listen(target);
  const probe = net.createServer();
  gatePort = await listen(probe);
  await new Promise((r) => probe.close(r));
  sim = await startSimulator({
    timeScale: 0.001,
    sshPort: gatePort,
    sshTarget: { host: '127.0.0.1', port: targetPort },
    gateGroupInstances: true,
  });
});

afterAll(async () => {
  await sim.stop();
  await new Promise((r) => target.close(r));
});

beforeEach(async () => {
  await sim.reset();
  sim.seed({
    ...buildFixture({ groups: 1, instancesPerGroup: 1 }),
    instanceConnectEndpoints: [{ subnetId: 'subnet-0aaaa000000000001' }],
  });
  endpointId = [...sim.state.instanceConnectEndpoints.keys()][0] ?? '';
  address = [...sim.state.instances.values()][0]?.instance.PrivateIpAddress ?? '';
  await sim.gatesReady();
  // Tunnel durations run on simulated time: held, none expires however slow the machine is.
  sim.clock.hold();
});

const tunnelTo = async (
  over: Partial<{
    endpointId: string;
    privateIpAddress: string;
    remotePort: number;
    maxTunnelDuration: number;
  }> = {},
  opts: Parameters<typeof presignTunnelUrl>[2] = {},
): Promise<TunnelResult> =>
  openTunnel(
    sim,
    await presignTunnelUrl(
      sim,
      { endpointId, privateIpAddress: address, remotePort: gatePort, ...over },
      opts,
    ),
  );

const refused = (r: TunnelResult): { status: number; body: string } => {
  if (r.open) {
    r.ws.close();
    throw new Error('the tunnel opened');
  }
  return r;
};

describe('OpenTunnel', () => {
  it('carries the gate’s SSH banner and bytes both ways through a correctly presigned tunnel', async () => {
    const r = await tunnelTo({ maxTunnelDuration: 600 });
    if (!r.open) throw new Error(`refused: ${r.status} ${r.body}`);
    expect(await r.received.firstLine()).toBe(Banner);
    r.ws.send(Buffer.from('ping\n'), { binary: true });
    await expect.poll(() => r.received.text).toBe(`${Banner}\r\nping\n`);
    expect(sim.instanceConnect.openTunnels(endpointId)).toHaveLength(1);
    const done = closed(r.ws);
    r.ws.close();
    await done;
    await expect.poll(() => sim.instanceConnect.openTunnels().length).toBe(0);
    const call = sim.calls.find((c) => c.action === 'OpenTunnel');
    expect(call).toMatchObject({
      service: 'ec2-instance-connect',
      outcome: 'ok',
      status: 101,
      params: {
        instanceConnectEndpointId: endpointId,
        privateIpAddress: address,
        remotePort: String(gatePort),
        maxTunnelDuration: '600',
      },
    });
  });

  it('describes the endpoint with the tunnel server as its DNS name', async () => {
    const { ec2 } = clients(sim);
    const { DescribeInstanceConnectEndpointsCommand } = await import('@aws-sdk/client-ec2');
    const out = await ec2.send(new DescribeInstanceConnectEndpointsCommand({}));
    expect(out.InstanceConnectEndpoints?.[0]?.DnsName).toBe(sim.instanceConnect.dnsName);
    expect(sim.instanceConnect.dnsName).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('refuses a wrong signature, an unknown access key and an expired or too long-lived URL with 403', async () => {
    expect(refused(await tunnelTo({}, { secretAccessKey: 'wrong' })).status).toBe(403);
    const unknown = refused(await tunnelTo({}, { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' }));
    expect(unknown.status).toBe(403);
    // The signer dates URLs with the wall clock, so expiry is real time: signed 2 minutes ago for 60 s.
    const stale = refused(await tunnelTo({}, { signingDate: new Date(Date.now() - 120_000) }));
    expect(stale).toMatchObject({ status: 403, body: expect.stringMatching(/expired/i) as unknown });
    expect(refused(await tunnelTo({}, { expiresIn: 300 })).status).toBe(403);
    // A parameter changed after signing breaks the signature.
    const url = new URL(
      await presignTunnelUrl(sim, { endpointId, privateIpAddress: address, remotePort: gatePort }),
    );
    url.searchParams.set('remotePort', '2');
    expect(refused(await openTunnel(sim, url.toString())).status).toBe(403);
    expect(sim.calls.filter((c) => c.action === 'OpenTunnel').map((c) => c.status)).toEqual([
      403, 403, 403, 403, 403,
    ]);
  });

  it('refuses an unknown endpoint with 404 and a duration over 3600 s with 400', async () => {
    const unknown = refused(await tunnelTo({ endpointId: 'eice-0123456789abcdef0' }));
    expect(unknown).toMatchObject({
      status: 404,
      body: expect.stringContaining('eice-0123456789abcdef0') as unknown,
    });
    const long = refused(await tunnelTo({ maxTunnelDuration: 3601 }));
    expect(long).toMatchObject({ status: 400, body: expect.stringContaining('3600') as unknown });
    const ok = await tunnelTo({ maxTunnelDuration: 3600 });
    expect(ok.open).toBe(true);
    if (ok.open) ok.ws.close();
  });

  it('refuses an address that is not an instance in the endpoint’s VPC', async () => {
    const { ec2 } = clients(sim);
    const imageId = [...sim.state.images.keys()][0];
    const out = await ec2.send(
      new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, SubnetId: OtherVpc.subnetId }),
    );
    const outside = out.Instances?.[0];
    expect(outside?.VpcId).toBe(OtherVpc.vpcId);
    const r = refused(await tunnelTo({ privateIpAddress: outside?.PrivateIpAddress ?? '' }));
    expect(r.status).toBe(400);
    expect(r.body).toContain(outside?.PrivateIpAddress);
    expect(r.body).toContain('VPC');
    expect(refused(await tunnelTo({ privateIpAddress: '127.9.9.9' })).status).toBe(400);
  });

  it('closes the tunnel when nothing listens on the remote port', async () => {
    const r = await tunnelTo({ remotePort: 1 });
    if (!r.open) throw new Error(`refused: ${r.status} ${r.body}`);
    const end = await closed(r.ws);
    expect(end.code).toBe(1011);
    expect(end.reason).toContain(`${address}:1`);
  });

  it('refuses the 21st concurrent tunnel with 429 while the 20 others keep working', async () => {
    const open: TunnelResult[] = await Promise.all(Array.from({ length: 20 }, () => tunnelTo()));
    expect(open.every((t) => t.open)).toBe(true);
    const extra = refused(await tunnelTo());
    expect(extra.status).toBe(429);
    expect(extra.body).toContain('20');
    const lines = await Promise.all(
      open.map((t) => (t.open ? t.received.firstLine() : Promise.reject(new Error('refused')))),
    );
    expect(new Set(lines)).toEqual(new Set([Banner]));
    // One closes: a slot is free again.
    const first = open[0];
    if (first?.open) {
      const done = closed(first.ws);
      first.ws.close();
      await done;
    }
    await expect.poll(() => sim.instanceConnect.openTunnels(endpointId).length).toBe(19);
    const again = await tunnelTo();
    expect(again.open).toBe(true);
    for (const t of [...open, again]) if (t.open) t.ws.close();
  });

  it('takes a lower per-endpoint limit from the fixture or control', async () => {
    sim.instanceConnect.setMaxConnections(endpointId, 1);
    const one = await tunnelTo();
    expect(one.open).toBe(true);
    expect(refused(await tunnelTo()).status).toBe(429);
    if (one.open) one.ws.close();
  });

  it('closes a tunnel once its maxTunnelDuration has passed in simulated time', async () => {
    const r = await tunnelTo({ maxTunnelDuration: 30 });
    if (!r.open) throw new Error(`refused: ${r.status} ${r.body}`);
    expect(await r.received.firstLine()).toBe(Banner);
    const end = closed(r.ws);
    await sim.clock.advance(29_000);
    expect(sim.instanceConnect.openTunnels(endpointId)).toHaveLength(1);
    await sim.clock.advance(1_000);
    expect(await end).toMatchObject({ code: 1000, reason: expect.stringContaining('30 seconds') as unknown });
    expect(sim.instanceConnect.tunnels()[0]).toMatchObject({ closeCode: 1000, maxTunnelDuration: 30 });
  });

  it('refuses a denied ec2-instance-connect:OpenTunnel with 403', async () => {
    sim.deny(['ec2-instance-connect:OpenTunnel']);
    const r = refused(await tunnelTo());
    expect(r.status).toBe(403);
    expect(r.body).toContain('ec2-instance-connect:OpenTunnel');
  });
});

describe('the tunnel server’s certificate', () => {
  it('is trusted by a Node process given it as NODE_EXTRA_CA_CERTS (no test-only TLS switch)', async () => {
    const { execFile } = await import('node:child_process');
    const script = `require('https').get('https://${sim.instanceConnect.dnsName}/openTunnel', (res) => { console.log(res.statusCode); res.resume(); }).on('error', (e) => { console.log(e.code); });`;
    const run = (env: Record<string, string>): Promise<string> =>
      new Promise((resolve) =>
        execFile(
          process.execPath,
          ['-e', script],
          { env: { PATH: process.env.PATH ?? '', ...env } },
          (_e, out) => resolve(out.trim()),
        ),
      );
    expect(await run({ NODE_EXTRA_CA_CERTS: sim.instanceConnect.caFile })).toBe('426');
    expect(await run({})).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });
});
