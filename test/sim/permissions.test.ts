/**
 * Denied permissions, as AWS answers them. EC2's API reference, on every action's DryRun parameter
 * (for example https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html):
 * "Checks whether you have the required permissions for the operation, without actually making the
 * request, and provides an error response. If you have the required permissions, the error response
 * is DryRunOperation. Otherwise, it is UnauthorizedOperation." The common client error codes
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html) list
 * UnauthorizedOperation, "You are not authorized to perform this operation", for the real call too.
 */
import { DescribeAutoScalingGroupsCommand, StartInstanceRefreshCommand } from '@aws-sdk/client-auto-scaling';
import { CreateImageCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type Simulator } from './index.js';
import { clients, rejection } from './testkit.js';

let sim: Simulator;
let ec2: ReturnType<typeof clients>['ec2'];
let asg: ReturnType<typeof clients>['asg'];

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.0001 });
  ({ ec2, asg } = clients(sim));
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await sim.reset();
  sim.seed(buildFixture({ groups: 1, instancesPerGroup: 0 }));
});

const imageId = (): string => [...sim.state.images.values()][0]?.ImageId ?? '';
const run = (dryRun: boolean) =>
  ec2.send(new RunInstancesCommand({ ImageId: imageId(), MinCount: 1, MaxCount: 1, DryRun: dryRun }));

describe('denied permissions', () => {
  it('answers a DryRun of a denied action with UnauthorizedOperation naming the action', async () => {
    sim.deny(['ec2:RunInstances']);
    const err = await rejection(run(true));
    expect(err.name).toBe('UnauthorizedOperation');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(err.message).toContain('ec2:RunInstances');
    expect(sim.state.instances.size).toBe(0);
  });

  it('still answers DryRunOperation for the actions not denied', async () => {
    sim.deny(['ec2:RunInstances']);
    const err = await rejection(
      ec2.send(new CreateImageCommand({ InstanceId: 'i-0123456789abcdef0', Name: 'x', DryRun: true })),
    );
    expect(err.name).toBe('DryRunOperation');
  });

  it('refuses the real call of a denied action and changes nothing', async () => {
    sim.deny(['ec2:runinstances']);
    const err = await rejection(run(false));
    expect(err.name).toBe('UnauthorizedOperation');
    expect(sim.state.instances.size).toBe(0);
    expect(sim.calls.at(-1)).toMatchObject({ action: 'RunInstances', code: 'UnauthorizedOperation' });
  });

  it('answers a denied Auto Scaling action with AccessDenied, others as usual', async () => {
    sim.deny(['autoscaling:StartInstanceRefresh']);
    const group = sim.seeded.groups[0] ?? [...sim.state.groups.keys()][0] ?? '';
    const err = await rejection(asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: group })));
    expect(err.name).toBe('AccessDenied');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(err.message).toContain('autoscaling:StartInstanceRefresh');
    await expect(asg.send(new DescribeAutoScalingGroupsCommand({}))).resolves.toBeDefined();
  });

  it('leaves DryRun requests to api faults that ask for them', async () => {
    sim.faults.add({ kind: 'api', action: 'RunInstances', error: { code: 'InsufficientInstanceCapacity' } });
    expect((await rejection(run(true))).name).toBe('DryRunOperation');
    expect((await rejection(run(false))).name).toBe('InsufficientInstanceCapacity');
    sim.faults.add({
      kind: 'api',
      action: 'RunInstances',
      dryRun: true,
      error: { code: 'RequestLimitExceeded' },
    });
    expect((await rejection(run(true))).name).toBe('RequestLimitExceeded');
  });

  it('allows everything again after reset', async () => {
    sim.deny(['ec2:RunInstances']);
    await sim.reset();
    sim.seed(buildFixture({ groups: 1, instancesPerGroup: 0 }));
    expect((await rejection(run(true))).name).toBe('DryRunOperation');
  });
});
