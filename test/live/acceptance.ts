/**
 * One acceptance run: a tiny isolated setup (provision.ts), the built action's deploy, refresh and
 * cleanup run as GitHub runs them (test/helpers/action-runner.ts), describes that check what each
 * left, and a teardown of everything tagged with the run id, also when a step fails.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { utils } from 'ssh2';
import { removeJob, startAction, type ActionRun } from '../helpers/action-runner.js';
import { costNotice } from './cost.js';
import type { LiveOptions } from './options.js';
import {
  provision,
  RunIdTag,
  teardown,
  until,
  type Clients,
  type Provisioned,
  type SshAccess,
} from './provision.js';

export interface AcceptanceSettings {
  readonly options: LiveOptions;
  /** Names the run's resources; digits and letters. */
  readonly runId: string;
  /** Against a simulator: its test credentials and SSH gate (its instances forward to a test sshd). */
  readonly simulator?: { readonly ssh: SshAccess; readonly pollScale: string };
  readonly log?: (line: string) => void;
}

export interface AcceptanceResult {
  /** Each check, in order, and whether it held. */
  readonly checks: readonly { readonly name: string; readonly ok: boolean; readonly detail: string }[];
  /** What teardown could not delete (empty: nothing is left). */
  readonly left: readonly string[];
  readonly ok: boolean;
}

function clientsFor(options: LiveOptions): Clients {
  const config = {
    region: options.region,
    maxAttempts: 5,
    ...(options.endpoint
      ? { endpoint: options.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
      : {}),
  };
  return { ec2: new EC2Client(config), autoScaling: new AutoScalingClient(config) };
}

/** The environment of the action's steps: the simulator's, or the caller's AWS credentials. */
function stepEnvironment(settings: AcceptanceSettings): Record<string, string> {
  const { options } = settings;
  if (options.endpoint) {
    return {
      AWS_ENDPOINT_URL: options.endpoint,
      AWS_REGION: options.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      ASG_ROLLING_POLL_SCALE: settings.simulator?.pollScale ?? '1',
    };
  }
  const passed = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
  return {
    ...Object.fromEntries(passed.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : []))),
    AWS_REGION: options.region,
    // The harness points steps at a dead loopback endpoint by default; real AWS needs its own.
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
  };
}

async function workspace(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'asg-rolling-live-'));
  await mkdir(path.join(dir, 'build'));
  await writeFile(
    path.join(dir, 'build', 'release.txt'),
    `asg-rolling acceptance ${new Date().toISOString()}\n`,
  );
  return dir;
}

/** Runs the whole acceptance; never leaves resources behind unless teardown itself fails. */
export async function runAcceptance(settings: AcceptanceSettings): Promise<AcceptanceResult> {
  const log = settings.log ?? ((line: string) => console.log(line));
  const { options, runId } = settings;
  log(
    `asg-rolling acceptance run ${runId} against ${options.endpoint ?? `AWS ${options.region}, account ${options.account ?? '?'}`}`,
  );
  log(costNotice());
  const clients = clientsFor(options);
  const made: Provisioned = { runId };
  const checks: { name: string; ok: boolean; detail: string }[] = [];
  const check = (name: string, ok: boolean, detail = ''): void => {
    checks.push({ name, ok, detail });
    log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  };
  const pollMs = options.endpoint ? 20 : 10_000;
  const dir = await workspace();
  const runs: ActionRun[] = [];
  try {
    const keys = utils.generateKeyPairSync('ed25519');
    await provision(clients, made, options, keys.public);
    log(`created launch template ${made.launchTemplateId ?? '?'} and group ${made.groupName ?? '?'}`);
    const ssh: SshAccess = settings.simulator?.ssh ?? {
      user: 'ec2-user',
      privateKey: keys.private,
      port: 22,
    };
    const inService = await until(
      async () => (await groupOf(clients, made)).inService === 1,
      15 * 60_000,
      pollMs,
    );
    check('the group has one instance in service', inService);
    if (!inService) return { checks, left: [], ok: false };

    const step = async (command: string, extra: Record<string, string> = {}): Promise<ActionRun> => {
      const run = await startAction({
        entry: 'main',
        cwd: dir,
        script: path.resolve(options.dist, 'main', 'index.js'),
        timeoutMs: 60 * 60_000,
        env: stepEnvironment(settings),
        inputs: {
          command,
          'asg-tags': `${RunIdTag}=${runId}`,
          'ssh-user': ssh.user,
          'ssh-private-key': ssh.privateKey,
          'ssh-port': String(ssh.port),
          'instance-warmup': options.endpoint ? '1' : '60',
          'min-healthy-percentage': '0',
          'cleanup-keep': '1',
          ...extra,
        },
      }).done;
      runs.push(run);
      log(`${command}: exit ${String(run.exitCode)}`);
      if (run.exitCode !== 0) log(run.stdout.slice(-4000));
      return run;
    };

    const deploy = await step('deploy', { upload: 'build' });
    check('deploy succeeds', deploy.exitCode === 0);
    const amis = JSON.parse(deploy.outputs.amis ?? '[]') as { imageId: string; sourceImageId: string }[];
    const baked = amis[0]?.imageId;
    check('deploy baked one AMI', amis.length === 1, baked ?? 'none');
    const versions = await clients.ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: made.launchTemplateId,
        Versions: ['$Default'],
      }),
    );
    const defaultImage = versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.ImageId;
    check(
      'the default version names the baked AMI',
      baked !== undefined && defaultImage === baked,
      String(defaultImage),
    );
    const after = await groupOf(clients, made);
    check(
      'the group runs the baked AMI',
      after.images.length > 0 && after.images.every((i) => i === baked),
      after.images.join(','),
    );

    const refresh = await step('refresh');
    const refreshes = JSON.parse(refresh.outputs['instance-refreshes'] ?? '[]') as { status: string }[];
    check(
      'refresh succeeds',
      refresh.exitCode === 0 && refreshes.map((r) => r.status).join() === 'Successful',
    );

    const cleanup = await step('cleanup');
    check('cleanup succeeds', cleanup.exitCode === 0);
    const kept = baked
      ? await clients.ec2.send(
          new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'image-id', Values: [baked] }] }),
        )
      : undefined;
    check('cleanup keeps the AMI in use', kept?.Images?.[0]?.State === 'available');
  } catch (error) {
    check('the run completes', false, error instanceof Error ? error.message : String(error));
  } finally {
    for (const run of runs) removeJob(run.job);
    await rm(dir, { recursive: true, force: true });
  }
  const left = await teardown(clients, made, pollMs);
  check('teardown deletes everything of the run', left.length === 0, left.join('; '));
  clients.ec2.destroy();
  clients.autoScaling.destroy();
  return { checks, left, ok: checks.every((c) => c.ok) };
}

/** The group's instances in service and the images they run. */
async function groupOf(
  clients: Clients,
  made: Provisioned,
): Promise<{ inService: number; images: string[] }> {
  const found = await clients.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [made.groupName ?? ''] }),
  );
  const members = (found.AutoScalingGroups?.[0]?.Instances ?? []).filter(
    (i) => i.LifecycleState === 'InService',
  );
  const ids = members.flatMap((m) => (m.InstanceId ? [m.InstanceId] : []));
  if (ids.length === 0) return { inService: 0, images: [] };
  const described = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  const images = (described.Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .map((i) => i.ImageId ?? '?');
  return { inService: ids.length, images };
}
