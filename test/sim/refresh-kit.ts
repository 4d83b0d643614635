// The world the Instance Refresh tests share: one simulator per file, reset and seeded before each test
// (shop-asg-0 with a MixedInstancesPolicy, shop-asg-1 with a launch template, four instances each, and
// an image `shop-new` for new template versions), plus the calls those tests keep making.
import {
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  type AutoScalingGroup,
  type InstanceRefresh,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach } from 'vitest';

import { buildFixture, startSimulator, type SeedResult, type Simulator } from './index.js';
import { advanceUntil, clients, waitFor } from './testkit.js';

const terminal = ['Successful', 'Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed'];

export function refreshWorld() {
  const w = {} as {
    sim: Simulator;
    ec2: ReturnType<typeof clients>['ec2'];
    asg: ReturnType<typeof clients>['asg'];
    seeded: SeedResult;
  };
  beforeAll(async () => {
    w.sim = await startSimulator({ timeScale: 0.0001 });
    ({ ec2: w.ec2, asg: w.asg } = clients(w.sim));
  });
  afterAll(() => w.sim.stop());
  beforeEach(async () => {
    await w.sim.reset();
    w.seeded = w.sim.seed({
      ...buildFixture({
        groups: 2,
        instancesPerGroup: 4,
        images: 2,
        mixedInstancesPolicy: 2,
        versionMode: 'number',
      }),
      images: [{ name: 'shop-base-0' }, { name: 'shop-base-1' }, { name: 'shop-new' }],
    });
  });

  /** A new version of the group's template with the new image, as the action makes it. */
  async function newVersion(group = 'shop-asg-0'): Promise<{ id: string; version: string }> {
    const res = await w.ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateName: `shop-lt-${group.split('-').pop()}`,
        SourceVersion: '1',
        LaunchTemplateData: { ImageId: w.seeded.images['shop-new'] },
      }),
    );
    return {
      id: res.LaunchTemplateVersion?.LaunchTemplateId ?? '',
      version: String(res.LaunchTemplateVersion?.VersionNumber),
    };
  }

  async function refreshOf(group: string, id: string): Promise<InstanceRefresh | undefined> {
    const res = await w.asg.send(
      new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group, InstanceRefreshIds: [id] }),
    );
    return res.InstanceRefreshes?.[0];
  }

  async function groupOf(name: string): Promise<AutoScalingGroup | undefined> {
    const res = await w.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
    return res.AutoScalingGroups?.[0];
  }

  const ended = async (group: string, id: string) => {
    const r = await refreshOf(group, id);
    return r && terminal.includes(r.Status ?? '') ? r : undefined;
  };

  return {
    get sim() {
      return w.sim;
    },
    get ec2() {
      return w.ec2;
    },
    get asg() {
      return w.asg;
    },
    get seeded() {
      return w.seeded;
    },
    newVersion,
    refreshOf,
    groupOf,
    /** Held clock: advances simulated time until the refresh ends (any terminal status). */
    settle: (group: string, id: string): Promise<InstanceRefresh> =>
      advanceUntil(w.sim, () => ended(group, id), { stepMs: 30_000, limitMs: 6 * 3_600_000 }),
    /** Running clock: polls (bounded) until the refresh ends (any terminal status). */
    ending: (group: string, id: string): Promise<InstanceRefresh> =>
      waitFor(() => ended(group, id), 20_000, 2),
  };
}
