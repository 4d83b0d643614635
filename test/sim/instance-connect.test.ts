// EC2 Instance Connect in the simulator. SendSSHPublicKey follows its API reference
// (https://docs.aws.amazon.com/ec2-instance-connect/latest/APIReference/API_SendSSHPublicKey.html): "The
// key remains for 60 seconds", EC2InstanceNotFoundException, EC2InstanceStateInvalidException ("Connecting
// to a stopped or terminated instance is not supported"), InvalidArgsException for the parameter
// constraints. The pushed key reaches a real sshd the way the EC2 Instance Connect agent hands it over,
// through AuthorizedKeysCommand ("Install EC2 Instance Connect",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-connect-set-up.html).
// DescribeInstanceConnectEndpoints follows
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceConnectEndpoints.html.
import {
  CreateInstanceConnectEndpointCommand,
  DeleteInstanceConnectEndpointCommand,
  DescribeInstanceConnectEndpointsCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { freePort, sshdAvailable, startSshd, type TestSshServer } from '../helpers/sshd.js';
import { buildFixture, startSimulator, type Simulator } from './index.js';
import { EndpointCreateMs, EndpointDeleteMs, KeyLifetimeMs } from './instance-connect.js';
import { OtherVpc } from './state.js';
import { clients, rejection } from './testkit.js';

const { utils } = ssh2;

const fixture = {
  ...buildFixture({ groups: 1, instancesPerGroup: 2 }),
  instanceConnectEndpoints: [
    { subnetId: 'subnet-0aaaa000000000001', tags: { team: 'web' } },
    { subnetId: OtherVpc.subnetId },
  ],
};

function instances(sim: Simulator): { id: string; address: string; zone: string }[] {
  return [...sim.state.instances.values()].map((r) => ({
    id: r.instance.InstanceId ?? '',
    address: r.instance.PrivateIpAddress ?? '',
    zone: r.instance.Placement?.AvailabilityZone ?? '',
  }));
}

describe('SendSSHPublicKey and Instance Connect Endpoints', () => {
  let sim: Simulator;
  let eic: EC2InstanceConnectClient;
  const key = utils.generateKeyPairSync('ed25519');

  beforeAll(async () => {
    sim = await startSimulator({ timeScale: 0.001 });
    eic = new EC2InstanceConnectClient({ ...sim.clientConfig(), maxAttempts: 1 });
  });
  afterAll(() => sim.stop());
  beforeEach(async () => {
    await sim.reset();
    sim.seed(fixture);
    sim.clock.hold();
  });

  it('accepts a key for a running instance, valid for 60 simulated seconds for that user only', async () => {
    const [a, b] = instances(sim);
    const out = await eic.send(
      new SendSSHPublicKeyCommand({
        InstanceId: a?.id,
        InstanceOSUser: 'ec2-user',
        SSHPublicKey: `${key.public} laptop`,
        AvailabilityZone: a?.zone,
      }),
    );
    expect(out.Success).toBe(true);
    expect(out.RequestId).toBeTruthy();
    const line = key.public.split(' ').slice(0, 2).join(' ');
    expect(sim.instanceConnect.keys(a?.address ?? '', 'ec2-user')).toEqual({
      instanceId: a?.id,
      keys: [line],
    });
    expect(sim.instanceConnect.keys(a?.address ?? '', 'root').keys).toEqual([]);
    expect(sim.instanceConnect.keys(b?.address ?? '', 'ec2-user').keys).toEqual([]);
    await sim.clock.advance(KeyLifetimeMs - 1);
    expect(sim.instanceConnect.keys(a?.address ?? '', 'ec2-user').keys).toEqual([line]);
    await sim.clock.advance(1);
    expect(sim.instanceConnect.keys(a?.address ?? '', 'ec2-user').keys).toEqual([]);
    expect(sim.calls.find((c) => c.action === 'SendSSHPublicKey')).toMatchObject({
      service: 'ec2-instance-connect',
      outcome: 'ok',
      status: 200,
      params: { InstanceId: a?.id, InstanceOSUser: 'ec2-user' },
    });
  });

  it('refuses an unknown instance, a wrong zone, a stopped instance and bad arguments in AWS’s JSON errors', async () => {
    const [a] = instances(sim);
    const send = (input: Record<string, string | undefined>) =>
      rejection(
        eic.send(
          new SendSSHPublicKeyCommand({
            InstanceId: a?.id,
            InstanceOSUser: 'ec2-user',
            SSHPublicKey: key.public,
            ...input,
          } as never),
        ),
      );
    const unknown = await send({ InstanceId: 'i-0123456789abcdef0' });
    expect(unknown.name).toBe('EC2InstanceNotFoundException');
    expect(unknown.$metadata?.httpStatusCode).toBe(404);
    expect((await send({ AvailabilityZone: 'eu-west-1a' })).name).toBe('EC2InstanceNotFoundException');
    expect((await send({ SSHPublicKey: 'ssh-ed25519 not-a-key' })).name).toBe('InvalidArgsException');
    expect((await send({ SSHPublicKey: `ssh-rsa ${key.public.split(' ')[1] ?? ''}` })).name).toBe(
      'InvalidArgsException',
    );
    expect((await send({ InstanceOSUser: 'no spaces allowed' })).name).toBe('InvalidArgsException');
    const { ec2 } = clients(sim);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [a?.id ?? ''] }));
    const stopped = await send({});
    expect(stopped.name).toBe('EC2InstanceStateInvalidException');
    expect(stopped.$metadata?.httpStatusCode).toBe(400);
    expect(stopped.message).toContain('stopping');
    sim.deny(['ec2-instance-connect:SendSSHPublicKey']);
    const denied = await send({});
    expect(denied.name).toBe('AuthException');
    expect(sim.calls.filter((c) => c.action === 'SendSSHPublicKey').map((c) => [c.code, c.status])).toEqual([
      ['EC2InstanceNotFoundException', 404],
      ['EC2InstanceNotFoundException', 404],
      ['InvalidArgsException', 400],
      ['InvalidArgsException', 400],
      ['InvalidArgsException', 400],
      ['EC2InstanceStateInvalidException', 400],
      ['AuthException', 403],
    ]);
  });

  it('fails SendSSHPublicKey through an api fault like any other call', async () => {
    const [a] = instances(sim);
    sim.faults.add({
      kind: 'api',
      service: 'ec2-instance-connect',
      action: 'SendSSHPublicKey',
      error: 'throttle',
    });
    const err = await rejection(
      eic.send(
        new SendSSHPublicKeyCommand({ InstanceId: a?.id, InstanceOSUser: 'u', SSHPublicKey: key.public }),
      ),
    );
    expect(err.name).toBe('ThrottlingException');
  });

  it('describes endpoints by id and by the vpc-id, state, subnet-id and tag filters', async () => {
    const { ec2 } = clients(sim);
    const all =
      (await ec2.send(new DescribeInstanceConnectEndpointsCommand({}))).InstanceConnectEndpoints ?? [];
    expect(all).toHaveLength(2);
    const [web, other] = all;
    expect(web).toMatchObject({
      InstanceConnectEndpointId: expect.stringMatching(/^eice-0[0-9a-f]{16}$/) as unknown,
      InstanceConnectEndpointArn: expect.stringContaining(':instance-connect-endpoint/eice-') as unknown,
      OwnerId: '123456789012',
      State: 'create-complete',
      VpcId: 'vpc-0sim0000000000001',
      SubnetId: 'subnet-0aaaa000000000001',
      DnsName: sim.instanceConnect.dnsName,
      FipsDnsName: sim.instanceConnect.dnsName,
      PreserveClientIp: false,
      SecurityGroupIds: ['sg-0sim0000000000001'],
      Tags: [{ Key: 'team', Value: 'web' }],
    });
    expect(web?.CreatedAt).toBeInstanceOf(Date);
    expect(other?.VpcId).toBe(OtherVpc.vpcId);
    const ids = (filters: { Name: string; Values: string[] }[]) =>
      ec2
        .send(new DescribeInstanceConnectEndpointsCommand({ Filters: filters }))
        .then((o) => (o.InstanceConnectEndpoints ?? []).map((e) => e.InstanceConnectEndpointId));
    expect(await ids([{ Name: 'vpc-id', Values: [OtherVpc.vpcId] }])).toEqual([
      other?.InstanceConnectEndpointId,
    ]);
    expect(await ids([{ Name: 'state', Values: ['create-complete'] }])).toHaveLength(2);
    expect(await ids([{ Name: 'state', Values: ['create-in-progress'] }])).toEqual([]);
    expect(await ids([{ Name: 'subnet-id', Values: ['subnet-0aaaa000000000001'] }])).toEqual([
      web?.InstanceConnectEndpointId,
    ]);
    expect(await ids([{ Name: 'tag:team', Values: ['web'] }])).toEqual([web?.InstanceConnectEndpointId]);
    expect(
      await ids([{ Name: 'instance-connect-endpoint-id', Values: [other?.InstanceConnectEndpointId ?? ''] }]),
    ).toEqual([other?.InstanceConnectEndpointId]);
    const byId = await ec2.send(
      new DescribeInstanceConnectEndpointsCommand({
        InstanceConnectEndpointIds: [web?.InstanceConnectEndpointId ?? ''],
      }),
    );
    expect(byId.InstanceConnectEndpoints?.map((e) => e.SubnetId)).toEqual(['subnet-0aaaa000000000001']);
    const missing = await rejection(
      ec2.send(
        new DescribeInstanceConnectEndpointsCommand({
          InstanceConnectEndpointIds: ['eice-0123456789abcdef0'],
        }),
      ),
    );
    expect(missing.name).toBe('InvalidInstanceConnectEndpointId.NotFound');
  });

  it('creates an endpoint in the subnet’s VPC (create-in-progress, then create-complete) and deletes it', async () => {
    const { ec2 } = clients(sim);
    const created = await ec2.send(
      new CreateInstanceConnectEndpointCommand({
        SubnetId: OtherVpc.subnetId,
        SecurityGroupIds: ['sg-0123'],
      }),
    );
    const id = created.InstanceConnectEndpoint?.InstanceConnectEndpointId ?? '';
    expect(created.InstanceConnectEndpoint).toMatchObject({
      State: 'create-in-progress',
      VpcId: OtherVpc.vpcId,
      SecurityGroupIds: ['sg-0123'],
    });
    await sim.clock.advance(EndpointCreateMs);
    const state = async () =>
      (await ec2.send(new DescribeInstanceConnectEndpointsCommand({ InstanceConnectEndpointIds: [id] })))
        .InstanceConnectEndpoints?.[0]?.State;
    expect(await state()).toBe('create-complete');
    const deleted = await ec2.send(
      new DeleteInstanceConnectEndpointCommand({ InstanceConnectEndpointId: id }),
    );
    expect(deleted.InstanceConnectEndpoint?.State).toBe('delete-in-progress');
    await sim.clock.advance(EndpointDeleteMs);
    expect((await rejection(state())).name).toBe('InvalidInstanceConnectEndpointId.NotFound');
    const bad = await rejection(
      ec2.send(new CreateInstanceConnectEndpointCommand({ SubnetId: 'subnet-0nope' })),
    );
    expect(bad.name).toBe('InvalidSubnetID.NotFound');
  });

  it('seeds endpoints through the control API and serves the keys route sshd asks', async () => {
    const [a] = instances(sim);
    const res = await fetch(`${sim.endpoint}/_sim/instance-connect/endpoints`, {
      method: 'POST',
      body: JSON.stringify({ subnetId: 'subnet-0bbbb000000000002', maxConnections: 3 }),
    });
    const endpoint = (await res.json()) as {
      endpoint: { InstanceConnectEndpointId: string };
      maxConnections: number;
    };
    expect(endpoint.maxConnections).toBe(3);
    expect(sim.state.instanceConnectEndpoints.has(endpoint.endpoint.InstanceConnectEndpointId)).toBe(true);
    await eic.send(
      new SendSSHPublicKeyCommand({
        InstanceId: a?.id,
        InstanceOSUser: 'ec2-user',
        SSHPublicKey: key.public,
      }),
    );
    const keys = await fetch(`${sim.instanceConnect.keysUrl}?address=${a?.address ?? ''}&user=ec2-user`);
    expect(await keys.json()).toEqual({ instanceId: a?.id, keys: [key.public] });
  });
});

describe.skipIf(!sshdAvailable())('a pushed key at a real sshd behind the gates', () => {
  let sim: Simulator;
  let sshd: TestSshServer;
  let gatePort: number;
  let eic: EC2InstanceConnectClient;

  beforeAll(async () => {
    sshd = await startSshd({ instanceConnect: {} });
    gatePort = await freePort();
    sim = await startSimulator({
      timeScale: 0.001,
      sshPort: gatePort,
      sshTarget: { host: '127.0.0.1', port: sshd.port },
      gateGroupInstances: true,
    });
    await sshd.setKeysUrl?.(sim.instanceConnect.keysUrl);
    eic = new EC2InstanceConnectClient({ ...sim.clientConfig(), maxAttempts: 1 });
  });
  afterAll(async () => {
    await sim.stop();
    await sshd.stop();
  });

  /** Whether sshd lets `privateKey` in as the test user over the instance's gate. */
  const logsIn = (host: string, privateKey: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      client
        .on('ready', () => {
          client.end();
          resolve(true);
        })
        .on('error', (err: Error & { level?: string }) =>
          err.level === 'client-authentication' ? resolve(false) : reject(err),
        )
        .connect({ host, port: gatePort, username: sshd.user, privateKey, readyTimeout: 10_000 });
    });

  it('lets a key in for 60 simulated seconds, on its instance only, and refuses it after', async () => {
    await sim.reset();
    sim.seed(buildFixture({ groups: 1, instancesPerGroup: 2 }));
    await sim.gatesReady();
    sim.clock.hold();
    const [a, b] = instances(sim);
    const key = utils.generateKeyPairSync('ed25519');
    expect(await logsIn(a?.address ?? '', key.private)).toBe(false);
    await eic.send(
      new SendSSHPublicKeyCommand({ InstanceId: a?.id, InstanceOSUser: sshd.user, SSHPublicKey: key.public }),
    );
    expect(await logsIn(a?.address ?? '', key.private)).toBe(true);
    // Pushed to a, so b's agent does not know it.
    expect(await logsIn(b?.address ?? '', key.private)).toBe(false);
    // The static key of the other tests still works beside the command.
    expect(await logsIn(b?.address ?? '', sshd.privateKey)).toBe(true);
    await sim.clock.advance(KeyLifetimeMs);
    expect(await logsIn(a?.address ?? '', key.private)).toBe(false);
  });
});
