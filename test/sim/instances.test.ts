import net from 'node:net';

import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type Simulator } from './index.js';
import { clients, rejection, waitFor } from './testkit.js';

/** A free TCP port on 127.0.0.1 for the SSH gates (every instance address listens on it). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Connects and expects the echo of `hello`; resolves 'refused' when nothing listens. */
function probe(host: string, port: number): Promise<'echo' | 'refused' | 'other'> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    sock.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ECONNREFUSED' ? 'refused' : 'other'),
    );
    sock.once('connect', () => sock.write('hello'));
    sock.once('data', (d) => {
      resolve(d.toString() === 'hello' ? 'echo' : 'other');
      sock.destroy();
    });
  });
}

let sim: Simulator;
let sshPort: number;
let echo: net.Server;
let ec2: ReturnType<typeof clients>['ec2'];
let imageId: string;
let ltId: string;

beforeAll(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const target = { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port };
  sshPort = await freePort();
  sim = await startSimulator({ timeScale: 0.001, sshPort, sshTarget: target });
  ({ ec2 } = clients(sim));
});
afterAll(async () => {
  await sim.stop();
  echo.close();
});
beforeEach(async () => {
  await sim.reset();
  const seeded = sim.seed(buildFixture({ groups: 1, instancesPerGroup: 1 }));
  imageId = seeded.images['shop-base-0'] ?? '';
  ltId = seeded.launchTemplates['shop-lt-0'] ?? '';
});

const stateOf = async (id: string) =>
  (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0];

describe('instances', () => {
  it('RunInstances from a launch template: tags, loopback address, pending → running', async () => {
    const res = await ec2.send(
      new RunInstancesCommand({
        LaunchTemplate: { LaunchTemplateId: ltId, Version: '$Latest' },
        MinCount: 1,
        MaxCount: 1,
        SubnetId: 'subnet-0aaaa000000000001',
        TagSpecifications: [
          { ResourceType: 'instance', Tags: [{ Key: 'asg-rolling:run', Value: 'run-1' }] },
          { ResourceType: 'volume', Tags: [{ Key: 'asg-rolling:run', Value: 'run-1' }] },
        ],
      }),
    );
    const inst = res.Instances?.[0];
    expect(inst?.State?.Name).toBe('pending');
    expect(inst?.ImageId).toBe(imageId);
    expect(inst?.SubnetId).toBe('subnet-0aaaa000000000001');
    expect(inst?.PrivateIpAddress).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(inst?.PublicIpAddress).toBe(inst?.PrivateIpAddress);
    expect(inst?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'asg-rolling:run', Value: 'run-1' },
        { Key: 'aws:ec2launchtemplate:id', Value: ltId },
        { Key: 'aws:ec2launchtemplate:version', Value: '1' },
      ]),
    );
    await waitFor(async () => (await stateOf(inst?.InstanceId ?? ''))?.State?.Name === 'running');
    const tagged = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:asg-rolling:run', Values: ['run-1'] }] }),
    );
    expect(tagged.Reservations?.[0]?.Instances?.map((i) => i.InstanceId)).toEqual([inst?.InstanceId]);
    const byImage = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'image-id', Values: [imageId] }] }),
    );
    expect(byImage.Reservations?.flatMap((r) => r.Instances)).toHaveLength(2);
  });

  it('RunInstances with an unknown or malformed image fails with the AMI error codes', async () => {
    const nf = await rejection(
      ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1 })),
    );
    expect(nf.name).toBe('InvalidAMIID.NotFound');
    const bad = await rejection(
      ec2.send(new RunInstancesCommand({ ImageId: 'ami-xyz', MinCount: 1, MaxCount: 1 })),
    );
    expect(bad.name).toBe('InvalidAMIID.Malformed');
  });

  it('stops, starts and terminates through the intermediate states', async () => {
    sim.clock.hold();
    const res = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 2, MaxCount: 2 }));
    const [a = '', b = ''] = (res.Instances ?? []).map((i) => i.InstanceId ?? '');
    const state = async (id: string) => (await stateOf(id))?.State?.Name;
    expect([await state(a), await state(b)]).toEqual(['pending', 'pending']);
    await sim.clock.advance(30_000); // instancePending
    expect([await state(a), await state(b)]).toEqual(['running', 'running']);
    const stop = await ec2.send(new StopInstancesCommand({ InstanceIds: [a] }));
    expect(stop.StoppingInstances?.[0]).toMatchObject({
      PreviousState: { Name: 'running', Code: 16 },
      CurrentState: { Name: 'stopping', Code: 64 },
    });
    await sim.clock.advance(29_999);
    expect(await state(a)).toBe('stopping');
    await sim.clock.advance(1); // instanceStopping
    expect(await state(a)).toBe('stopped');
    await ec2.send(new StartInstancesCommand({ InstanceIds: [a] }));
    expect(await state(a)).toBe('pending');
    await sim.clock.advance(30_000);
    expect(await state(a)).toBe('running');
    const term = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [a, b] }));
    expect(term.TerminatingInstances?.map((t) => t.CurrentState?.Name)).toEqual([
      'shutting-down',
      'shutting-down',
    ]);
    await sim.clock.advance(20_000); // instanceShuttingDown
    const terminated = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['terminated'] }] }),
    );
    expect(terminated.Reservations?.flatMap((r) => r.Instances?.map((i) => i.InstanceId)).sort()).toEqual(
      [a, b].sort(),
    );
  });

  it('CreateTags adds tags to instances, images and snapshots', async () => {
    const snap = [...sim.state.snapshots.keys()][0] ?? '';
    await ec2.send(
      new CreateTagsCommand({ Resources: [imageId, snap], Tags: [{ Key: 'keep', Value: 'yes' }] }),
    );
    expect(sim.state.images.get(imageId)?.Tags).toContainEqual({ Key: 'keep', Value: 'yes' });
    expect(sim.state.snapshots.get(snap)?.Tags).toEqual([{ Key: 'keep', Value: 'yes' }]);
  });
});

describe('SSH gate', () => {
  it('refuses before boot, forwards to the target after, closes on stop', async () => {
    sim.clock.hold();
    const res = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }));
    const id = res.Instances?.[0]?.InstanceId ?? '';
    const ip = res.Instances?.[0]?.PrivateIpAddress ?? '';
    const port = sshPort;
    expect(await probe(ip, port)).toBe('refused');
    await sim.clock.advance(30_000); // instancePending
    expect((await stateOf(id))?.State?.Name).toBe('running');
    // Running but sshd not up yet: still refused.
    expect(await probe(ip, port)).toBe('refused');
    await sim.clock.advance(19_999);
    expect(sim.state.instances.get(id)?.booted).toBe(false);
    expect(await probe(ip, port)).toBe('refused');
    await sim.clock.advance(1); // sshBoot
    expect(sim.state.instances.get(id)?.booted).toBe(true);
    await sim.gatesReady();
    expect(await probe(ip, port)).toBe('echo');
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    // Closing a listener is asynchronous; it ends refusing.
    await waitFor(async () => (await probe(ip, port)) === 'refused');
  });

  it('does not open gates for Auto Scaling instances by default', async () => {
    const member = [...sim.state.instances.values()].find((r) => r.groupName);
    expect(member?.booted).toBe(true);
    expect(sim.world.gates.isOpen(member?.instance.PrivateIpAddress ?? '')).toBe(false);
  });
});
