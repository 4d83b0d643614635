/**
 * Host key checking in the built action against the simulator and a real sshd offering an ed25519
 * and an ECDSA host key: `setup` holds instances to known_hosts as `deploy` does, hands on the key
 * its probe proved, strict accepts a host whose listed key is the ECDSA one, and a CA line is
 * refused before anything is launched.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SetupResultVariable } from '../../src/config/hand-off.js';
import {
  errors,
  isGone,
  orphans,
  output,
  startFleet,
  temporaryInstances,
  threeGroups,
  transcript,
  type Fleet,
} from '../helpers/fleet.js';

const run = promisify(execFile);

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  await fleet?.stop();
});
beforeEach(async () => {
  await fleet.sim.reset();
  fleet.sim.seed(threeGroups);
});

interface InstanceOutput {
  instanceId: string;
  address: string;
  sourceImageId: string;
  groups: string[];
  hostKey?: string;
}

/** A known_hosts line for every simulated instance (they all live at 127.0.x.y on the gate port). */
const everyInstance = (key: string): string => `[127.0.*]:${fleet.gatePort} ${key}`;
/** A well-formed ed25519 key nobody holds. */
const StrangerKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINamKMxvVjK62XsIUhQSaoOguzwJh314svvcMhRjNE2c';

describe('host keys in setup', () => {
  it('strict with a known_hosts line that does not match: the groups fail and the instances are terminated', async () => {
    const setup = await fleet.main(
      fleet.inputs({
        command: 'setup',
        'ssh-host-key-checking': 'strict',
        'ssh-known-hosts': everyInstance(StrangerKey),
      }),
    );
    expect(setup.exitCode, transcript(setup)).not.toBe(0);
    expect(errors(setup).join('\n')).toMatch(/does not match the 1 key\(s\) ssh-known-hosts lists/);
    // Nothing handed to the user's deploy tool: no instance, no hand-off.
    expect(output<InstanceOutput[]>(setup, 'instances')).toEqual([]);
    expect(setup.env[SetupResultVariable]).toBeUndefined();
    expect(temporaryInstances(fleet.sim)).toHaveLength(2);
    expect(orphans(fleet.sim)).toEqual([]);
  });

  it('hands on the host key each probe proved, as a known_hosts line ssh-keygen and ssh accept', async () => {
    const setup = await fleet.main(fleet.inputs({ command: 'setup', 'asg-names': 'shop-worker' }));
    expect(setup.exitCode, transcript(setup)).toBe(0);
    const [instance] = output<InstanceOutput[]>(setup, 'instances');
    const name = `[${instance?.address ?? ''}]:${fleet.gatePort}`;
    // The sshd's real ed25519 key, at the name ssh looks up.
    expect(instance?.hostKey).toBe(`${name} ${fleet.ssh.hostPublicKey.split(' ').slice(0, 2).join(' ')}`);
    // The hand-off carries it too, for finalize and for a later step's own tooling.
    const handOff = JSON.parse(setup.env[SetupResultVariable] ?? '{}') as { images?: InstanceOutput[] };
    expect(handOff.images?.[0]?.hostKey).toBe(instance?.hostKey);

    const dir = await mkdtemp(path.join(tmpdir(), 'asg-rolling-known-hosts-'));
    try {
      const knownHosts = path.join(dir, 'known_hosts');
      await writeFile(knownHosts, `${instance?.hostKey ?? ''}\n`, { mode: 0o600 });
      const found = await run('/usr/bin/ssh-keygen', ['-F', name, '-f', knownHosts]);
      expect(found.stdout).toContain(instance?.hostKey);
      if (!existsSync('/usr/bin/ssh')) return;
      // What the split-mode example does: the user's own ssh, pinned to that line and nothing else.
      const key = path.join(dir, 'id');
      await writeFile(key, fleet.ssh.privateKey, { mode: 0o600 });
      const ssh = (file: string) =>
        run('/usr/bin/ssh', [
          ...[
            '-F',
            '/dev/null',
            '-i',
            key,
            '-p',
            String(fleet.gatePort),
            '-o',
            'BatchMode=yes',
            '-o',
            'IdentitiesOnly=yes',
          ],
          ...['-o', `UserKnownHostsFile=${file}`, '-o', 'GlobalKnownHostsFile=/dev/null'],
          ...['-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=20'],
          `${fleet.ssh.user}@${instance?.address ?? ''}`,
          'echo pinned',
        ]);
      expect((await ssh(knownHosts)).stdout.trim()).toBe('pinned');
      // The same ssh refuses a host whose key is not the one setup proved.
      const wrong = path.join(dir, 'wrong_known_hosts');
      await writeFile(wrong, `${name} ${StrangerKey}\n`, { mode: 0o600 });
      await expect(ssh(wrong)).rejects.toThrow(/Host key verification failed|REMOTE HOST IDENTIFICATION/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await fleet.post(setup);
    expect(orphans(fleet.sim)).toEqual([]);
  });

  it('off: setup warns that any host key is accepted', async () => {
    const setup = await fleet.main(
      fleet.inputs({ command: 'setup', 'asg-names': 'shop-worker', 'ssh-host-key-checking': 'off' }),
    );
    expect(setup.exitCode, transcript(setup)).toBe(0);
    expect(setup.annotations.map((a) => `${a.level} ${a.message}`).join('\n')).toMatch(
      /warning .*ssh-host-key-checking is off: any host key is accepted/,
    );
    await fleet.post(setup);
  });
});

describe('strict host key checking against a server with several host keys', () => {
  it('a listed ECDSA key is the one asked for and accepted, by setup and by deploy', async () => {
    const inputs = {
      'asg-names': 'shop-worker',
      'ssh-host-key-checking': 'strict',
      'ssh-known-hosts': everyInstance(fleet.ssh.ecdsaHostPublicKey),
    };
    const setup = await fleet.main(fleet.inputs({ ...inputs, command: 'setup' }));
    expect(setup.exitCode, transcript(setup)).toBe(0);
    const [instance] = output<InstanceOutput[]>(setup, 'instances');
    expect(instance?.hostKey).toBe(
      `[${instance?.address ?? ''}]:${fleet.gatePort} ${fleet.ssh.ecdsaHostPublicKey}`,
    );
    await fleet.post(setup);

    const deploy = await fleet.main(
      fleet.inputs({ ...inputs, command: 'deploy', 'deploy-script': 'deploy.sh' }),
    );
    expect(deploy.exitCode, transcript(deploy)).toBe(0);
    expect(errors(deploy)).toEqual([]);
    expect(output<unknown[]>(deploy, 'amis')).toHaveLength(1);
    for (const each of temporaryInstances(fleet.sim)) expect(isGone(each)).toBe(true);
  });
});

describe('known_hosts lines the action cannot honour', () => {
  it('an @cert-authority line fails the step at config time, naming its line, before any launch', async () => {
    const setup = await fleet.main(
      fleet.inputs({
        command: 'setup',
        'ssh-host-key-checking': 'strict',
        'ssh-known-hosts': `# the fleet's CA\n@cert-authority * ${StrangerKey}\n`,
      }),
    );
    expect(setup.exitCode, transcript(setup)).toBe(1);
    expect(errors(setup).join('\n')).toMatch(
      /Input "ssh-known-hosts" \(line 2\) must be a known_hosts line of a host's own key: @cert-authority lines are not supported/,
    );
    expect(fleet.sim.calls.filter((c) => c.action === 'RunInstances')).toEqual([]);
  });
});
