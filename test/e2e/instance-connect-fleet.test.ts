// The `instanceConnect` fleet end to end, without the action: an instance launched with RunInstances,
// a key pushed with SendSSHPublicKey, and an SSH login with that key through the fleet's EC2 Instance
// Connect Endpoint tunnel (SendSSHPublicKey:
// https://docs.aws.amazon.com/ec2-instance-connect/latest/APIReference/API_SendSSHPublicKey.html;
// the tunnel: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/connect-using-eice.html).
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { createWebSocketStream } from 'ws';

import { useFleet } from '../helpers/fleet.js';
import { sshdAvailable } from '../helpers/sshd.js';
import { openTunnel, presignTunnelUrl } from '../sim/instance-connect-kit.js';
import { clients, waitFor } from '../sim/testkit.js';

describe.skipIf(!sshdAvailable())('an instanceConnect fleet', () => {
  const fleet = useFleet({ seed: { images: [{ name: 'base' }] }, instanceConnect: true });

  it('logs in with a pushed key through the endpoint’s tunnel', async () => {
    const { sim, gatePort, instanceConnect, ssh } = fleet();
    expect(instanceConnect?.dnsName).toBe(sim.instanceConnect.dnsName);
    expect(fleet().env.NODE_EXTRA_CA_CERTS).toBe(sim.instanceConnect.caFile);
    const { ec2 } = clients(sim);
    const imageId = fleet.seeded().images.base;
    const launched = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }));
    const id = launched.Instances?.[0]?.InstanceId ?? '';
    const address = launched.Instances?.[0]?.PrivateIpAddress ?? '';
    await waitFor(() => sim.state.instances.get(id)?.booted, 30_000);
    await sim.gatesReady();
    const key = ssh2.utils.generateKeyPairSync('ed25519');
    const eic = new EC2InstanceConnectClient(sim.clientConfig());
    await eic.send(
      new SendSSHPublicKeyCommand({ InstanceId: id, InstanceOSUser: ssh.user, SSHPublicKey: key.public }),
    );
    const url = await presignTunnelUrl(sim, {
      endpointId: instanceConnect?.endpointId ?? '',
      privateIpAddress: address,
      remotePort: gatePort,
    });
    const tunnel = await openTunnel(sim, url);
    if (!tunnel.open) throw new Error(`refused: ${tunnel.status} ${tunnel.body}`);
    const output = await new Promise<string>((resolve, reject) => {
      const client = new ssh2.Client();
      client
        .on('ready', () =>
          client.exec('echo through-the-tunnel', (err, stream) => {
            if (err) return reject(err);
            let out = '';
            stream.on('data', (d: Buffer) => (out += d.toString()));
            stream.on('close', () => {
              client.end();
              resolve(out.trim());
            });
          }),
        )
        .on('error', reject)
        .connect({ sock: createWebSocketStream(tunnel.ws), username: ssh.user, privateKey: key.private });
    });
    expect(output).toBe('through-the-tunnel');
    expect(sim.calls.filter((c) => c.service === 'ec2-instance-connect').map((c) => c.action)).toEqual([
      'SendSSHPublicKey',
      'OpenTunnel',
    ]);
  });
});
