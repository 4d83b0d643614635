/**
 * The built action deploying end to end as the runner runs it (dist/main, then dist/post at the end
 * of the job) against the simulator and a real sshd: three groups, two of them sharing an image.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActionRun } from '../helpers/action-runner.js';
import {
  DeployScript,
  errors,
  isGone,
  orphans,
  output,
  temporaryInstances,
  threeGroups,
  transcript,
  useFleet,
  type RefreshOutput,
} from '../helpers/fleet.js';

const fleet = useFleet({
  seed: threeGroups,
  beforeSeed: (sim) => sim.setThrottle({ enabled: false }),
});

interface InstanceOutput {
  instanceId: string;
  address: string;
  sourceImageId: string;
  groups: string[];
}
interface AmiOutput {
  imageId: string;
  sourceImageId: string;
  groups: string[];
}
interface VersionOutput {
  launchTemplateId: string;
  version: number;
  imageId: string;
  groups: string[];
}

const sorted = (groups: readonly string[]): string => [...groups].sort().join(',');

/** Everything a successful deploy of threeGroups must leave behind, checked against the simulator. */
function expectDeployed(run: ActionRun): void {
  const { sim } = fleet();
  const web = sim.state.templateByName('lt-web');
  const worker = sim.state.templateByName('lt-worker');
  const baseWeb = fleet.seeded().images['base-web'] ?? '';
  const baseWorker = fleet.seeded().images['base-worker'] ?? '';

  const instances = output<InstanceOutput[]>(run, 'instances');
  expect(instances.map((i) => [i.sourceImageId, sorted(i.groups)]).sort()).toEqual(
    [
      [baseWeb, 'shop-api,shop-web'],
      [baseWorker, 'shop-worker'],
    ].sort(),
  );
  const launched = temporaryInstances(sim);
  expect(launched.map((i) => i.InstanceId).sort()).toEqual(instances.map((i) => i.instanceId).sort());
  for (const instance of instances) {
    expect(instance.address).toBe(
      launched.find((i) => i.InstanceId === instance.instanceId)?.PrivateIpAddress,
    );
  }

  const amis = output<AmiOutput[]>(run, 'amis');
  expect(amis.map((a) => [a.sourceImageId, sorted(a.groups)]).sort()).toEqual(
    [
      [baseWeb, 'shop-api,shop-web'],
      [baseWorker, 'shop-worker'],
    ].sort(),
  );
  for (const ami of amis) expect(sim.state.images.get(ami.imageId)?.State).toBe('available');

  const versions = output<VersionOutput[]>(run, 'launch-template-versions');
  const byTemplate = new Map(versions.map((v) => [v.launchTemplateId, v]));
  expect(versions).toHaveLength(2);
  const amiOf = (source: string): string => amis.find((a) => a.sourceImageId === source)?.imageId ?? '';
  for (const [record, source, groups] of [
    [web, baseWeb, 'shop-api,shop-web'],
    [worker, baseWorker, 'shop-worker'],
  ] as const) {
    const version = byTemplate.get(record?.template.LaunchTemplateId ?? '');
    expect(version).toMatchObject({ version: 2, imageId: amiOf(source) });
    expect(sorted(version?.groups ?? [])).toBe(groups);
    expect(record?.versions.get(2)?.LaunchTemplateData?.ImageId).toBe(amiOf(source));
  }
  // shop-web follows $Default: version 2 became the default once its refresh succeeded.
  expect(web?.template.DefaultVersionNumber).toBe(2);

  const refreshes = output<RefreshOutput[]>(run, 'instance-refreshes');
  expect(refreshes.map((r) => [r.group, r.status])).toEqual([
    ['shop-api', 'Successful'],
    ['shop-web', 'Successful'],
    ['shop-worker', 'Successful'],
  ]);
  for (const refresh of refreshes) {
    const inSim = sim.state.refreshes.get(refresh.instanceRefreshId)?.refresh;
    expect(inSim).toMatchObject({ AutoScalingGroupName: refresh.group, Status: 'Successful' });
  }
  // The numeric groups name the new version; shop-web follows $Default again, which is now 2.
  for (const group of ['shop-api', 'shop-worker'])
    expect(sim.state.groups.get(group)?.LaunchTemplate?.Version).toBe('2');
  expect(sim.state.groups.get('shop-web')?.LaunchTemplate?.Version).toBe('$Default');

  expect(orphans(sim)).toEqual([]);
  // Cleanup ran after the roll, with nothing of ours old enough to go yet.
  expect(output<unknown[]>(run, 'cleaned')).toEqual([]);
  expect(errors(run)).toEqual([]);
}

describe('deploy, as the runner runs it', () => {
  it('3 groups, 2 sharing an image: 2 instances, the script once on each, 2 AMIs, 3 refreshes', async () => {
    const inputs = fleet().inputs({ upload: 'build', 'deploy-script': DeployScript });
    const main = await fleet().main(inputs);
    expect(main.exitCode, transcript(main)).toBe(0);
    // Nothing on stderr: no Node warning (listeners, deprecations) and no stray console output.
    expect(main.stderr).toBe('');
    expectDeployed(main);

    const remote = inputs['upload-dir'] ?? '';
    expect(await readFile(path.join(remote, 'build', 'app.txt'), 'utf8')).toBe('v2\n');
    const lines = (await readFile(path.join(remote, 'deployed.log'), 'utf8')).trim().split('\n');
    const ids = output<InstanceOutput[]>(main, 'instances').map((i) => i.instanceId);
    expect(lines.map((l) => l.split(' ')[0]).sort()).toEqual([...ids].sort());
    expect(new Set(lines).size).toBe(2);
    expect(lines).toContain(
      `${ids[0] ?? ''} ${output<InstanceOutput[]>(main, 'instances')[0]?.groups.join(',') ?? ''}`,
    );

    // Each group's log lines carry its name; the summary has a row per group.
    expect(main.stdout).toMatch(/^\[shop-worker\] Started Instance Refresh /m);
    for (const group of ['shop-web', 'shop-api', 'shop-worker'])
      expect(main.summary).toContain(`| ${group} |`);

    // At the end of the job the post step finds nothing left to terminate.
    const before = fleet().sim.calls.length;
    const post = await fleet().post(main);
    expect(post.exitCode, transcript(post)).toBe(0);
    expect(post.stdout).toContain('No temporary instances to clean up');
    expect(
      fleet()
        .sim.calls.slice(before)
        .map((c) => c.action),
    ).toEqual([]);
  });

  // After a throttle the SDK's adaptive rate limiter slows the whole client: this run takes tens of seconds.
  it('recovers from throttling on 30% of the calls to both services', async () => {
    fleet().sim.faults.add({ kind: 'api', service: 'ec2', probability: 0.3, error: 'throttle' });
    fleet().sim.faults.add({ kind: 'api', service: 'autoscaling', probability: 0.3, error: 'throttle' });
    const main = await fleet().main(fleet().inputs({ upload: 'build', 'deploy-script': DeployScript }));
    expect(main.exitCode, transcript(main)).toBe(0);
    expectDeployed(main);
    const throttled = fleet().sim.calls.filter((c) => c.outcome === 'throttled');
    expect(throttled.some((c) => c.code === 'RequestLimitExceeded')).toBe(true);
    expect(throttled.some((c) => c.code === 'Throttling')).toBe(true);
    // Mutations retried after throttling happened once each: no duplicate instance, AMI or version.
    const ok = (action: string): number =>
      fleet().sim.calls.filter((c) => c.action === action && c.outcome === 'ok').length;
    expect(ok('RunInstances')).toBe(2);
    expect(ok('CreateImage')).toBe(2);
    expect(ok('CreateLaunchTemplateVersion')).toBe(2);
    expect(ok('StartInstanceRefresh')).toBe(3);
    const post = await fleet().post(main);
    expect(post.exitCode, transcript(post)).toBe(0);
    for (const instance of temporaryInstances(fleet().sim)) expect(isGone(instance)).toBe(true);
  }, 180_000);
});
