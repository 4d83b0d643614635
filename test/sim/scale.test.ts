// 1,000 groups and 10,000 instances: Describe calls must stay fast. Timings are printed for the record;
// the assertions are deliberately loose (a noisy 2-core machine).
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildFixture, startSimulator, type Simulator } from './index.js';
import { clients } from './testkit.js';

let sim: Simulator;
let seedMs = 0;

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.001, latency: { api: { default: 0 } } });
  const t = performance.now();
  sim.seed(buildFixture({ groups: 1000, images: 20, instancesPerGroup: 10 }));
  seedMs = performance.now() - t;
});
afterAll(() => sim.stop());

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await fn();
  return [v, performance.now() - t];
}

it('holds 1,000 groups and 10,000 instances with fast Describe calls', async () => {
  const { ec2, asg } = clients(sim);
  expect(sim.state.groups.size).toBe(1000);
  expect(sim.state.instances.size).toBe(10_000);

  const [groups, groupsMs] = await timed(async () => {
    let n = 0;
    let token: string | undefined;
    do {
      const page = await asg.send(
        new DescribeAutoScalingGroupsCommand({
          Filters: [
            { Name: 'tag:app', Values: ['shop'] },
            { Name: 'tag:env', Values: ['production'] },
          ],
          MaxRecords: 100,
          NextToken: token,
        }),
      );
      n += page.AutoScalingGroups?.length ?? 0;
      token = page.NextToken;
    } while (token);
    return n;
  });
  expect(groups).toBe(1000);

  const [instances, instancesMs] = await timed(async () => {
    let n = 0;
    let token: string | undefined;
    do {
      const page = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: 'instance-state-name', Values: ['running'] }],
          MaxResults: 1000,
          NextToken: token,
        }),
      );
      n += page.Reservations?.reduce((a, r) => a + (r.Instances?.length ?? 0), 0) ?? 0;
      token = page.NextToken;
    } while (token);
    return n;
  });
  expect(instances).toBe(10_000);

  const ids = [...sim.state.instances.keys()].filter((_, i) => i % 100 === 0);
  const [byIds, byIdsMs] = await timed(() => ec2.send(new DescribeInstancesCommand({ InstanceIds: ids })));
  expect(byIds.Reservations?.length).toBe(100);
  const [byTag, byTagMs] = await timed(() =>
    ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: ['shop-asg-500'] }],
      }),
    ),
  );
  expect(byTag.Reservations?.length).toBe(10);

  console.log(
    `sim scale: seed 1000 groups/10000 instances ${seedMs.toFixed(0)} ms; ` +
      `DescribeAutoScalingGroups all (10 pages of 100) ${groupsMs.toFixed(0)} ms; ` +
      `DescribeInstances all (10 pages of 1000) ${instancesMs.toFixed(0)} ms; ` +
      `DescribeInstances 100 ids ${byIdsMs.toFixed(0)} ms; by tag ${byTagMs.toFixed(0)} ms; ` +
      `rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  );
  // Generous bounds: these guard against accidental quadratic behaviour, not against a slow machine.
  expect(groupsMs).toBeLessThan(15_000);
  expect(instancesMs).toBeLessThan(30_000);
  expect(byIdsMs).toBeLessThan(5_000);
  expect(byTagMs).toBeLessThan(5_000);
});
