/**
 * `npm run demo`: the built action (dist/main, then dist/post, run as GitHub's runner runs them)
 * deploys a small web app to a simulated fleet of 3 Auto Scaling groups on 2 base images, over SSH
 * to a local server: OpenSSH's sshd when installed, else an SSH server inside this process (no root,
 * no packages). Everything listens on 127.0.0.1; no AWS account is involved.
 *
 *   npm run demo [-- --in-process] [-- --time-scale 0.02] [-- --dist DIR]
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { removeJob, repoRoot, runAction, startAction, type ActionRun } from '../helpers/action-runner.js';
import { startInProcessSshServer } from '../helpers/ssh-server.js';
import { freePort, sshdAvailable, startSshd, type TestSshServer } from '../helpers/sshd.js';
import { buildFixture, startSimulator } from '../sim/index.js';
import { finalState, formatFinalState, progressLine, readableLog, type FinalState } from './view.js';
import { AppDir, AppVersion, createWorkspace, DeployScript, installedSites } from './workspace.js';

/**
 * The demo fleet: groups 0 and 2 share base image 0 (one temporary instance and one AMI for both);
 * the groups refer to their templates as `1`, `$Default` and `$Latest`, the three ways AWS allows.
 */
const Fleet = { groups: 3, images: 2, instancesPerGroup: 2, versionMode: 'mixed' } as const;
/** 1 simulated second = 20 real ms: a deploy that takes AWS ~15 minutes takes the demo ~15 s. */
const DefaultTimeScale = 0.02;
const StepTimeoutMs = 180_000;
const ProgressEveryMs = 2_000;

export interface DemoOptions {
  /** `auto`: sshd when installed (falling back if it will not start), else the in-process server. */
  readonly server?: 'auto' | 'sshd' | 'in-process';
  /** Simulated durations × this; the action's polls are scaled alike. */
  readonly timeScale?: number;
  /** Directory holding main/index.js and post/index.js (default: the committed dist/). */
  readonly dist?: string;
  /** Where the demo's text goes (default: stdout). */
  readonly print?: (text: string) => void;
}

export interface DemoResult {
  /** Both steps succeeded. */
  readonly ok: boolean;
  readonly server: 'sshd' | 'in-process';
  readonly main: ActionRun;
  readonly post: ActionRun;
  readonly final: FinalState;
  /** Instance id → app version its deploy script installed. */
  readonly sites: Readonly<Record<string, string>>;
  readonly durationMs: number;
}

/** Runs the whole demo and cleans up after itself; the result says whether the action succeeded. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((text: string) => void process.stdout.write(`${text}\n`));
  const timeScale = options.timeScale ?? DefaultTimeScale;
  const dist = options.dist ?? path.join(repoRoot, 'dist');
  const started = Date.now();
  const heading = (text: string): void => print(`\n== ${text}`);

  heading('Starting a local SSH server, the AWS simulator and a workspace');
  const { ssh, kind } = await startServer(options.server ?? 'auto', print);
  const cleanups: (() => Promise<void>)[] = [() => ssh.stop()];
  try {
    const gatePort = await freePort();
    const sim = await startSimulator({
      timeScale,
      fixture: buildFixture(Fleet),
      sshPort: gatePort,
      sshTarget: { host: ssh.host, port: ssh.port },
    });
    cleanups.push(() => sim.stop());
    const workspace = await createWorkspace();
    cleanups.push(() => rm(workspace.root, { recursive: true, force: true }));
    print(`SSH: ${kind} on ${ssh.host}:${ssh.port}, user ${ssh.user}, a fresh ed25519 key`);
    print(`AWS simulator: ${sim.endpoint} (time × ${timeScale}); each booted instance answers SSH on`);
    print(`  its own 127.0.0.x:${gatePort}, forwarded to that server`);
    print(`fleet: ${Fleet.groups} groups tagged app=shop,env=production on ${Fleet.images} base images, `);
    print(`  ${Fleet.instancesPerGroup} instances each`);
    print(`workspace: ${workspace.root} (${AppDir}/ = shop ${AppVersion}, ${DeployScript})`);

    const inputs: Record<string, string> = {
      command: 'deploy',
      'asg-tags': 'app=shop,env=production',
      'ssh-user': ssh.user,
      'ssh-private-key': ssh.privateKey,
      'ssh-port': String(gatePort),
      'ssh-address': 'private',
      'ssh-timeout': '120',
      upload: AppDir,
      'upload-dir': workspace.uploadDir,
      'deploy-script': DeployScript,
      'deploy-env': `SITES_DIR=${workspace.sites}`,
      'min-healthy-percentage': '50',
      'instance-warmup': '10',
      'cleanup-keep': '1',
    };
    const env = {
      AWS_ENDPOINT_URL: sim.endpoint,
      AWS_REGION: sim.clientConfig().region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      ASG_ROLLING_POLL_SCALE: String(timeScale),
    };
    const step = { cwd: workspace.root, env, timeoutMs: StepTimeoutMs } as const;

    heading(`Main step: ${path.relative(repoRoot, path.join(dist, 'main/index.js'))} (command: deploy)`);
    const handle = startAction({ ...step, entry: 'main', inputs, script: path.join(dist, 'main/index.js') });
    const progress = setInterval(() => print(progressLine(sim.state, Date.now() - started)), ProgressEveryMs);
    const main = await handle.done.finally(() => clearInterval(progress));
    cleanups.push(async () => removeJob(main.job));
    printStep(print, 'main', main);

    heading(`Post step: ${path.relative(repoRoot, path.join(dist, 'post/index.js'))} (end of the job)`);
    const post = await runAction({
      ...step,
      entry: 'post',
      stateFrom: main,
      script: path.join(dist, 'post/index.js'),
    });
    printStep(print, 'post', post);

    heading('Job summary (GITHUB_STEP_SUMMARY)');
    print(main.summary.trim() || '(empty)');
    heading('Outputs');
    for (const [name, value] of Object.entries(main.outputs)) print(`${name} = ${value}`);

    heading('Simulated account after the run');
    const final = finalState(sim.state);
    print(formatFinalState(final));
    const sites = await installedSites(workspace);
    print(
      `\ninstalled by the deploy script: ${
        Object.entries(sites)
          .map(([id, v]) => `${id} → shop ${v}`)
          .join(', ') || 'nothing'
      }`,
    );

    const ok = main.exitCode === 0 && post.exitCode === 0;
    const durationMs = Date.now() - started;
    heading(
      `${ok ? 'Done' : 'FAILED'}: main exited ${main.exitCode ?? main.signal}, post exited ` +
        `${post.exitCode ?? post.signal}, ${(durationMs / 1000).toFixed(1)} s in all`,
    );
    return { ok, server: kind, main, post, final, sites, durationMs };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

async function startServer(
  wanted: 'auto' | 'sshd' | 'in-process',
  print: (text: string) => void,
): Promise<{ ssh: TestSshServer; kind: 'sshd' | 'in-process' }> {
  if (wanted === 'sshd' || (wanted === 'auto' && sshdAvailable())) {
    try {
      return { ssh: await startSshd(), kind: 'sshd' };
    } catch (error) {
      if (wanted === 'sshd') throw error;
      print(
        `/usr/sbin/sshd would not start (${(error as Error).message.split('\n')[0]}); using the in-process server`,
      );
    }
  }
  return { ssh: await startInProcessSshServer(), kind: 'in-process' };
}

/** The step's log (workflow commands made readable), then how it ended. */
function printStep(print: (text: string) => void, name: string, run: ActionRun): void {
  for (const line of readableLog(run.stdout)) print(`  | ${line}`);
  const stderr = run.stderr.trim();
  if (stderr) for (const line of stderr.split('\n')) print(`  ! ${line}`);
  const ended = run.timedOut ? 'timed out' : `exited ${run.exitCode ?? run.signal}`;
  print(`${name} step ${ended} after ${(run.durationMs / 1000).toFixed(1)} s`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      'in-process': { type: 'boolean', default: false },
      'time-scale': { type: 'string' },
      dist: { type: 'string' },
    },
  });
  const timeScale = values['time-scale'] === undefined ? undefined : Number(values['time-scale']);
  if (timeScale !== undefined && !(timeScale > 0)) throw new Error('--time-scale must be a positive number');
  const result = await runDemo({
    server: values['in-process'] ? 'in-process' : 'auto',
    ...(timeScale === undefined ? {} : { timeScale }),
    ...(values.dist ? { dist: path.resolve(values.dist) } : {}),
  });
  process.exitCode = result.ok ? 0 : 1;
}
