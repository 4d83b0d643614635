/**
 * What every scenario shares: one real sshd (the simulator's SSH gates forward each instance to it)
 * and a workspace with a small build and a tiny deploy script.
 *
 * One sshd stands in for N machines, so two things an instance has to itself are given back: each
 * SSH connection gets its own directory as home and SFTP root (else concurrent uploads rewrite a
 * deploy script another session is executing: ETXTBSY), and MaxStartups is raised (else sshd drops
 * handshakes beyond 10 at once, which N separate sshds never would).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSshd, type TestSshServer } from '../helpers/sshd.js';

export interface BenchEnv {
  readonly sshd: TestSshServer;
  /** One directory per SSH connection below this: the simulated instances' disks. */
  readonly hostsRoot: string;
  /** GITHUB_WORKSPACE of every run: `build/` and `deploy.sh`. */
  readonly workspace: string;
  stop(): Promise<void>;
}

export const UploadPath = 'build';
export const DeployScript = 'deploy.sh';
/** Each deploy appends its instance id here: proof that every pipeline really deployed. */
export const DeployLog = 'deployed.log';

/** Appends one line (atomic with O_APPEND), so concurrent deploys into one directory cannot lose each other. */
const script = `#!/bin/sh\nset -e\ntest -s build/app.js\necho "$ASG_ROLLING_INSTANCE_ID" >> ${DeployLog}\n`;

const SftpServers = [
  '/usr/lib/openssh/sftp-server',
  '/usr/libexec/openssh/sftp-server',
  '/usr/lib/ssh/sftp-server',
];

/**
 * sshd's ForceCommand: keys the connection by its client port (shared by the exec and SFTP sessions
 * of one connection), then runs the requested command or an SFTP server rooted there.
 */
function sessionWrapper(hostsRoot: string, sftpServer: string): string {
  return [
    '#!/bin/sh',
    'port=${SSH_CLIENT#* }',
    'port=${port%% *}',
    `home=${JSON.stringify(hostsRoot)}/"$port"`,
    'mkdir -p "$home" && cd "$home" || exit 1',
    'export HOME="$home"',
    `if [ "$SSH_ORIGINAL_COMMAND" = internal-sftp ]; then exec ${sftpServer} -d "$home"; fi`,
    'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',
    '',
  ].join('\n');
}

/** Every instance id the deploy script logged under `uploadDir`, over all connections' directories. */
export async function deployedInstances(env: BenchEnv, uploadDir: string): Promise<string[]> {
  const ids: string[] = [];
  for (const host of await readdir(env.hostsRoot)) {
    const log = await readFile(path.join(env.hostsRoot, host, uploadDir, DeployLog), 'utf8').catch(() => '');
    ids.push(...log.split('\n').filter(Boolean));
  }
  return ids;
}

/** Forgets every connection's directory (between scenarios). */
export async function clearHosts(env: BenchEnv): Promise<void> {
  await rm(env.hostsRoot, { recursive: true, force: true });
  await mkdir(env.hostsRoot);
}

/** A small build: a few files of a few KiB, like a packaged app's manifest and entry. */
async function writeWorkspace(dir: string): Promise<void> {
  await mkdir(path.join(dir, UploadPath), { recursive: true });
  await writeFile(
    path.join(dir, UploadPath, 'app.js'),
    `console.log(${JSON.stringify('x'.repeat(4096))});\n`,
  );
  await writeFile(path.join(dir, UploadPath, 'package.json'), '{"name":"app","version":"2.0.0"}\n');
  await writeFile(path.join(dir, UploadPath, 'VERSION'), '2.0.0\n');
  await writeFile(path.join(dir, DeployScript), script, { mode: 0o755 });
}

/** Starts the sshd and writes the workspace. */
export async function startBenchEnv(): Promise<BenchEnv> {
  const workspace = await mkdtemp(path.join(tmpdir(), 'asg-rolling-bench-'));
  const hostsRoot = path.join(workspace, 'hosts');
  const wrapper = path.join(workspace, 'session.sh');
  const sftpServer = SftpServers.find((file) => existsSync(file));
  if (!sftpServer) throw new Error(`No sftp-server found (looked at ${SftpServers.join(', ')})`);
  await mkdir(hostsRoot);
  await writeFile(wrapper, sessionWrapper(hostsRoot, sftpServer), { mode: 0o755 });
  const sshd = await startSshd({
    // HOME for the login shell too: bash sources ~/.bashrc when sshd starts it, and this machine's
    // account may load a language manager there; a fresh instance's user does not.
    extraConfig: ['MaxStartups 4096', `ForceCommand ${wrapper}`, `SetEnv HOME=${hostsRoot}`],
  });
  try {
    await writeWorkspace(workspace);
    return {
      sshd,
      hostsRoot,
      workspace,
      stop: async () => {
        await sshd.stop();
        await rm(workspace, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await sshd.stop();
    await rm(workspace, { recursive: true, force: true });
    throw error;
  }
}
