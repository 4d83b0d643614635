/**
 * Cleanup end to end: protected AMIs and AMIs of running instances stay, orphaned temporary
 * instances are terminated and snapshots whose AMI is gone are deleted.
 */
import {
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeSnapshotsCommand,
  EnableImageDeregistrationProtectionCommand,
  RunInstancesCommand,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { Roles, Tags } from '../../src/aws/tags.js';
import { RUN, minutesAgo, ours, ids, kept, useCleanupSimulator } from '../helpers/cleanup-cycle.js';

const { sim, seed, ec2, markOurs, cycle } = useCleanupSimulator();

describe('cleanup against the simulator', () => {
  it('keeps AMIs used by instances or protected, and terminates only true orphans', async () => {
    const s = seed({
      images: ['base', 'x0', 'x1', 'x2', 'x3'].map((name) => ({ name })),
      launchTemplates: [
        {
          name: 'lt-web',
          versions: [{ imageName: 'base', description: 'initial' }, ...ours('x0', 'x1', 'x2', 'x3')],
        },
      ],
      groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 1 }],
    });
    const [x0, x1, x2] = await Promise.all(
      ['x0', 'x1', 'x2', 'x3'].map((n, i) => markOurs(s, n, { templates: ['lt-web'], age: 500 - 100 * i })),
    );
    await ec2().send(new EnableImageDeregistrationProtectionCommand({ ImageId: x0 }));
    const launch = async (imageId: string | undefined, tags: Record<string, string>): Promise<string> => {
      const out = await ec2().send(
        new RunInstancesCommand({
          ImageId: imageId,
          MinCount: 1,
          MaxCount: 1,
          SubnetId: 'subnet-0aaaa000000000001',
          TagSpecifications: [
            { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          ],
        }),
      );
      return out.Instances?.[0]?.InstanceId ?? '';
    };
    const users = await launch(x1, { Name: 'someone-elses' });
    const temp = (runId: string, age: number, groups = 'web'): Record<string, string> => ({
      [Tags.Managed]: 'true',
      [Tags.Role]: Roles.TemporaryInstance,
      [Tags.RunId]: runId,
      [Tags.Groups]: groups,
      [Tags.CreatedAt]: minutesAgo(age),
    });
    const orphan = await launch(s.images.base ?? '', temp('run-old', 420));
    const mine = await launch(s.images.base ?? '', temp(RUN, 420));
    const young = await launch(s.images.base ?? '', temp('run-busy', 30));
    const elsewhere = await launch(s.images.base ?? '', temp('run-old', 420, 'api'));

    const report = await cycle({ selection: { names: ['web'], tags: [] } });

    expect(ids(report, 'instance')).toEqual([orphan]);
    expect(ids(report, 'ami')).toEqual([x2]);
    expect(kept(report, x0)).toBe('deregistration protection is on');
    expect(kept(report, x1)).toBe(`used by instance ${users} (running)`);
    const states = new Map<string, string>();
    for await (const page of paginateDescribeInstances({ client: ec2() }, {})) {
      for (const r of page.Reservations ?? [])
        for (const i of r.Instances ?? []) states.set(i.InstanceId ?? '', i.State?.Name ?? '');
    }
    expect(['shutting-down', 'terminated']).toContain(states.get(orphan));
    for (const id of [users, mine, young, elsewhere]) expect(states.get(id)).toBe('running');
  });

  it('deletes a snapshot of ours whose AMI is gone, once it is older than orphan-age', async () => {
    const s = seed({
      images: ['base', 'o1', 'o2', 'o3', 'o4'].map((name) => ({ name })),
      launchTemplates: [{ name: 'lt-web', versions: [{ imageName: 'base', description: 'initial' }] }],
      groups: [{ name: 'web', launchTemplate: { name: 'lt-web', version: '$Latest' }, desiredCapacity: 1 }],
    });
    const lt = s.launchTemplates['lt-web'] ?? '';
    /** An AMI's snapshot as CreateImage tags it; then the AMI is deregistered, the snapshot left. */
    const orphan = async (
      image: string,
      runId: string,
      ageMinutes: number,
      templates = lt,
    ): Promise<string> => {
      const imageId = s.images[image] ?? '';
      const snapshotId = sim().state.images.get(imageId)?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
      await ec2().send(
        new CreateTagsCommand({
          Resources: [snapshotId],
          Tags: [
            { Key: Tags.Managed, Value: 'true' },
            { Key: Tags.Role, Value: Roles.Ami },
            { Key: Tags.RunId, Value: runId },
            { Key: Tags.LaunchTemplates, Value: templates },
          ],
        }),
      );
      sim().state.snapshots.get(snapshotId)!.StartTime = new Date(Date.now() - ageMinutes * 60_000);
      await ec2().send(new DeregisterImageCommand({ ImageId: imageId }));
      return snapshotId;
    };
    const old = await orphan('o1', 'run-old', 500);
    const mine = await orphan('o2', RUN, 500);
    const young = await orphan('o3', 'run-old', 30);
    const elsewhere = await orphan('o4', 'run-old', 500, 'lt-0other00000000000');

    const report = await cycle({ selection: { names: ['web'], tags: [] } });

    expect(ids(report, 'snapshot')).toEqual([old]);
    expect(report.deleted.find((d) => d.id === old)?.reason).toBe(`its AMI ${s.images.o1} is gone`);
    const left = await ec2().send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    const leftIds = new Set(left.Snapshots?.map((snap) => snap.SnapshotId));
    expect(leftIds.has(old)).toBe(false);
    for (const id of [mine, young, elsewhere]) expect(leftIds.has(id)).toBe(true);
  });
});
