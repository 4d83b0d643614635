/**
 * A real OpenSSH sshd on 127.0.0.1 for end-to-end tests, the benchmark and the demo: fresh host
 * keys (ed25519 and ECDSA, so a client is offered both, as on a stock AMI), fresh client key
 * authorized for the current user, everything in one temp dir.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'node:net';

const SshdPath = '/usr/sbin/sshd';
const run = promisify(execFile);

/** A running SSH server and the keys to talk to it; shared by the sshd and in-process helpers. */
export interface TestSshServer {
  port: number;
  host: '127.0.0.1';
  user: string;
  /** OpenSSH private key text of the authorized client key. */
  privateKey: string;
  /** `ssh-ed25519 AAAA…` line of the client key. */
  publicKey: string;
  /** `ssh-ed25519 AAAA…` line of the server's host key. */
  hostPublicKey: string;
  /** `[127.0.0.1]:port ssh-ed25519 AAAA…`, for strict host key checking. */
  knownHostsLine: string;
  /** `ecdsa-sha2-nistp256 AAAA…` line of the server's second host key. */
  ecdsaHostPublicKey: string;
  /** Temp dir of the server; removed by stop(). */
  dir: string;
  /** With `instanceConnect`: points the AuthorizedKeysCommand at the simulator's keys route. */
  setKeysUrl?: (url: string) => Promise<void>;
  stop(): Promise<void>;
}

/**
 * sshd also takes the keys pushed with EC2 Instance Connect's SendSSHPublicKey, as the EC2 Instance
 * Connect agent makes it do on an instance: an AuthorizedKeysCommand asks for the keys valid now for the
 * OS user (Connect using EC2 Instance Connect, "Install EC2 Instance Connect",
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-connect-set-up.html; the agent's
 * eic_run_authorized_keys). Here the keys come from the simulator's control route
 * (`sim.instanceConnect.keysUrl`), asked for the instance whose address the connection comes from.
 */
export interface InstanceConnectOptions {
  /** The simulator's keys route; can also be set once the simulator is up (setKeysUrl). */
  keysUrl?: string;
}

// Runs as sshd's AuthorizedKeysCommand: prints the keys the simulator holds for the user on the
// instance the connection comes from (nothing on any failure, so sshd refuses the key). OpenSSH 9.2
// offers no token for the client address (%C came later), so the address is read from the TCP socket
// the calling sshd process holds: its remote end is the instance's address, which the simulator's gates
// connect from.
const KeysCommandScript = `import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
const [urlFile, user] = process.argv.slice(2);
function clientAddress() {
  const inodes = new Set();
  const fds = \`/proc/\${process.ppid}/fd\`;
  for (const fd of readdirSync(fds)) {
    try {
      const m = /^socket:\\[(\\d+)\\]$/.exec(readlinkSync(\`\${fds}/\${fd}\`));
      if (m) inodes.add(m[1]);
    } catch {}
  }
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\\n').slice(1)) {
    const f = line.trim().split(/\\s+/);
    if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9])) continue;
    const hex = f[2].split(':')[0];
    return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
  }
  return undefined;
}
try {
  const address = clientAddress();
  const base = readFileSync(urlFile, 'utf8').trim();
  if (address && base && user) {
    const url = \`\${base}?address=\${encodeURIComponent(address)}&user=\${encodeURIComponent(user)}\`;
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const { keys } = await res.json();
    for (const key of keys ?? []) process.stdout.write(\`\${key}\\n\`);
  }
} catch {}
`;

/** sshd checks that the command and every directory above it belong to root and are not writable by
 *  others; /usr/bin/env passes that check wherever the script lives (and whoever runs the tests). */
const EnvPath = '/usr/bin/env';

/** Whether the real sshd can be used here (CI installs it; a laptop may not have it). */
export function sshdAvailable(): boolean {
  return existsSync(SshdPath) && existsSync('/usr/bin/ssh-keygen');
}

/** Asks the kernel for a free loopback port (there is a small race until sshd binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function keygen(file: string, comment: string, type: 'ed25519' | 'ecdsa' = 'ed25519'): Promise<void> {
  const size = type === 'ecdsa' ? ['-b', '256'] : [];
  await run('/usr/bin/ssh-keygen', ['-q', '-t', type, ...size, '-N', '', '-C', comment, '-f', file]);
}

/**
 * Starts `/usr/sbin/sshd -D -e` with its own config and waits until it answers. Pass `port` to
 * restart on the same address (e.g. with a new host key, to test pinning); `extraConfig` lines are
 * appended to sshd_config (the benchmark raises MaxStartups and isolates each connection's files).
 */
export async function startSshd(
  options: { port?: number; extraConfig?: readonly string[]; instanceConnect?: InstanceConnectOptions } = {},
): Promise<TestSshServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'asg-rolling-sshd-'));
  try {
    // sshd refuses to start without its privilege separation directory.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
    await keygen(path.join(dir, 'host_ed25519'), 'test-host');
    await keygen(path.join(dir, 'host_ecdsa'), 'test-host', 'ecdsa');
    await keygen(path.join(dir, 'client_ed25519'), 'test-client');
    const publicKey = (await readFile(path.join(dir, 'client_ed25519.pub'), 'utf8')).trim();
    const hostPublicKey = (await readFile(path.join(dir, 'host_ed25519.pub'), 'utf8')).trim();
    const ecdsaHostPublicKey = withoutComment(await readFile(path.join(dir, 'host_ecdsa.pub'), 'utf8'));
    const privateKey = await readFile(path.join(dir, 'client_ed25519'), 'utf8');
    await writeFile(path.join(dir, 'authorized_keys'), `${publicKey}\n`, { mode: 0o600 });
    const keysUrlFile = path.join(dir, 'instance-connect-keys-url');
    const setKeysUrl = (url: string): Promise<void> => writeFile(keysUrlFile, `${url}\n`);
    const extraConfig = [...(options.extraConfig ?? [])];
    if (options.instanceConnect) {
      const script = path.join(dir, 'instance-connect-keys.mjs');
      await writeFile(script, KeysCommandScript, { mode: 0o755 });
      await setKeysUrl(options.instanceConnect.keysUrl ?? '');
      const quote = (p: string): string => `"${p}"`;
      extraConfig.push(
        `AuthorizedKeysCommand ${EnvPath} ${quote(process.execPath)} ${quote(script)} ${quote(keysUrlFile)} %u`,
        `AuthorizedKeysCommandUser ${userInfo().username}`,
      );
    }

    let lastError: Error | undefined;
    for (let attempt = 0; attempt < (options.port ? 20 : 3); attempt++) {
      const port = options.port ?? (await freePort());
      try {
        const child = await launch({ dir, port, extraConfig });
        const [hostType, hostKey] = hostPublicKey.split(' ');
        return {
          port,
          host: '127.0.0.1',
          user: userInfo().username,
          privateKey,
          publicKey,
          hostPublicKey,
          knownHostsLine: `[127.0.0.1]:${port} ${hostType} ${hostKey}`,
          ecdsaHostPublicKey,
          dir,
          ...(options.instanceConnect ? { setKeysUrl } : {}),
          stop: async () => {
            await stopChild(child);
            await rm(dir, { recursive: true, force: true });
          },
        };
      } catch (error) {
        lastError = error as Error;
        // A port just released by a stopped sshd may be briefly unavailable: wait and retry.
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    throw lastError ?? new Error('sshd did not start');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(options: {
  dir: string;
  port: number;
  extraConfig: readonly string[];
}): Promise<ChildProcess> {
  const { dir, port } = options;
  const config = path.join(dir, `sshd_config_${port}`);
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_ed25519')}`,
      `HostKey ${path.join(dir, 'host_ecdsa')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'StrictModes no',
      'UsePAM no',
      'PrintMotd no',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      ...options.extraConfig,
      '',
    ].join('\n'),
  );
  const child = spawn(SshdPath, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`sshd exited with code ${code}: ${stderr.trim()}`)));
    child.once('error', reject);
  });
  exited.catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const result = await Promise.race([answersWithBanner(port), exited]);
    // The pid file proves that this sshd bound the port, not some other server that took it first.
    const pid = await readFile(path.join(dir, 'sshd.pid'), 'utf8').catch(() => '');
    if (result && pid.trim() === String(child.pid)) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stopChild(child);
  throw new Error(`sshd on port ${port} did not answer within 10 s: ${stderr.trim()}`);
}

/** `type base64` of a .pub file, without its comment. */
function withoutComment(pub: string): string {
  return pub.trim().split(/\s+/).slice(0, 2).join(' ');
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Whether a server on the port greets a new connection with an SSH identification line within 1 s. */
function answersWithBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ready);
    };
    const timer = setTimeout(() => done(false), 1_000);
    socket.on('data', (data: Buffer) => {
      text += data.toString('latin1');
      if (text.includes('\n')) done(text.startsWith('SSH-'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}
