import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
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
});

const post = (path: string, body?: unknown, method = 'POST') =>
  fetch(`${sim.endpoint}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((r) => r.json() as Promise<unknown>);

describe('wire protocol', () => {
  it('answers an unknown action with InvalidAction, never a silent success', async () => {
    const res = await fetch(sim.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=LaunchRockets&Version=2016-11-15',
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('<Response><Errors><Error><Code>InvalidAction</Code>');
    expect(text).toContain('<RequestID>');
    const asgRes = await fetch(sim.endpoint, {
      method: 'POST',
      body: 'Action=LaunchRockets&Version=2011-01-01',
    });
    expect(await asgRes.text()).toContain(
      '<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>InvalidAction</Code>',
    );
  });

  it('answers DryRun with the DryRunOperation error and changes nothing', async () => {
    sim.seed(buildFixture({ groups: 1, instancesPerGroup: 0 }));
    const image = [...sim.state.images.values()][0]?.ImageId;
    const err = await rejection(
      ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, DryRun: true })),
    );
    expect(err.name).toBe('DryRunOperation');
    expect(err.$metadata?.httpStatusCode).toBe(412);
    expect(sim.state.instances.size).toBe(0);
  });

  it('gives typed errors in the EC2 shape', async () => {
    const err = await rejection(
      ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
    );
    expect(err.name).toBe('InvalidInstanceID.NotFound');
    expect(err.$metadata?.httpStatusCode).toBe(400);
  });

  it('logs every call with action, params and outcome', async () => {
    await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] }),
    );
    await rejection(ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })));
    const calls = sim.calls.map((c) => [c.service, c.action, c.outcome, c.code]);
    expect(calls).toEqual([
      ['ec2', 'DescribeInstances', 'ok', undefined],
      ['ec2', 'TerminateInstances', 'error', 'InvalidInstanceID.NotFound'],
    ]);
    expect(sim.calls[0]?.params).toEqual({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] });
  });

  it('exposes state, calls, seed, faults and reset over HTTP under /_sim', async () => {
    const seeded = (await post('/_sim/seed', buildFixture({ groups: 2, prefix: 'web' }))) as {
      groups: string[];
    };
    expect(seeded.groups).toEqual(['web-asg-0', 'web-asg-1']);
    const state = (await post('/_sim/state', undefined, 'GET')) as {
      groups: unknown[];
      instances: unknown[];
    };
    expect(state.groups).toHaveLength(2);
    expect(state.instances).toHaveLength(4);
    const { id } = (await post('/_sim/faults', {
      kind: 'api',
      action: 'DescribeAutoScalingGroups',
      times: 3,
      error: 'server',
    })) as { id: string };
    expect(id).toMatch(/^fault-/);
    // The SDK retries 5xx (3 attempts by default): all three fail.
    const err = await rejection(asg.send(new DescribeAutoScalingGroupsCommand({})));
    expect(err.name).toBe('InternalFailure');
    expect((await asg.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups).toHaveLength(2);
    const calls = (await post('/_sim/calls?action=DescribeAutoScalingGroups', undefined, 'GET')) as {
      outcome: string;
      status: number;
    }[];
    expect(calls.map((c) => c.status)).toEqual([500, 500, 500, 200]);
    expect(calls[0]).toMatchObject({ outcome: 'error', status: 500 });
    await post('/_sim/reset');
    expect(sim.state.groups.size).toBe(0);
    expect(sim.calls).toHaveLength(0);
  });
});

describe('endpoint configuration', () => {
  it('unmodified clients find it through AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_AUTO_SCALING', async () => {
    const { EC2Client, DescribeImagesCommand } = await import('@aws-sdk/client-ec2');
    const { AutoScalingClient } = await import('@aws-sdk/client-auto-scaling');
    sim.seed(buildFixture({ groups: 1, instancesPerGroup: 0 }));
    process.env.AWS_ENDPOINT_URL_EC2 = sim.endpoint;
    process.env.AWS_ENDPOINT_URL_AUTO_SCALING = sim.endpoint;
    try {
      const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
      const images = await new EC2Client({ region: 'eu-west-1', credentials }).send(
        new DescribeImagesCommand({ Owners: ['self'] }),
      );
      expect(images.Images).toHaveLength(1);
      const groups = await new AutoScalingClient({ region: 'eu-west-1', credentials }).send(
        new DescribeAutoScalingGroupsCommand({}),
      );
      expect(groups.AutoScalingGroups).toHaveLength(1);
    } finally {
      delete process.env.AWS_ENDPOINT_URL_EC2;
      delete process.env.AWS_ENDPOINT_URL_AUTO_SCALING;
    }
  });
});

describe('pagination and tag filters', () => {
  it('pages DescribeAutoScalingGroups (default 50, max 100) and filters by tag', async () => {
    sim.seed(buildFixture({ groups: 120, instancesPerGroup: 1, prefix: 'a' }));
    sim.seed(
      buildFixture({
        groups: 5,
        instancesPerGroup: 1,
        prefix: 'b',
        tags: { app: 'blog', env: 'production' },
      }),
    );
    const first = await asg.send(new DescribeAutoScalingGroupsCommand({}));
    expect(first.AutoScalingGroups).toHaveLength(50);
    expect(first.NextToken).toBeTruthy();
    const names: string[] = [];
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
      names.push(...(page.AutoScalingGroups ?? []).map((g) => g.AutoScalingGroupName ?? ''));
      token = page.NextToken;
    } while (token);
    expect(names).toHaveLength(120);
    expect(new Set(names).size).toBe(120);
    const blog = await asg.send(
      new DescribeAutoScalingGroupsCommand({ Filters: [{ Name: 'tag-value', Values: ['blog'] }] }),
    );
    expect(blog.AutoScalingGroups).toHaveLength(5);
    const byKey = await asg.send(
      new DescribeAutoScalingGroupsCommand({
        Filters: [{ Name: 'tag-key', Values: ['Name'] }],
        MaxRecords: 100,
      }),
    );
    expect(byKey.AutoScalingGroups).toHaveLength(100);
    const byName = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['a-asg-3', 'nope'] }),
    );
    expect(byName.AutoScalingGroups?.map((g) => g.AutoScalingGroupName)).toEqual(['a-asg-3']);
    const tooMany = await rejection(asg.send(new DescribeAutoScalingGroupsCommand({ MaxRecords: 101 })));
    expect(tooMany.name).toBe('ValidationError');
  });

  it('pages DescribeInstances by MaxResults and keeps reservations', async () => {
    sim.seed(buildFixture({ groups: 4, instancesPerGroup: 3 }));
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'tag:app', Values: ['shop'] },
            { Name: 'instance-state-name', Values: ['running', 'pending'] },
          ],
          MaxResults: 5,
          NextToken: token,
        }),
      );
      pages += 1;
      for (const r of page.Reservations ?? [])
        ids.push(...(r.Instances ?? []).map((i) => i.InstanceId ?? ''));
      token = page.NextToken;
    } while (token);
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(12);
    const bad = await rejection(
      ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'flavour', Values: ['x'] }] })),
    );
    expect(bad.name).toBe('InvalidParameterValue');
    const wild = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: ['shop-asg-*'] }],
      }),
    );
    expect(wild.Reservations?.flatMap((r) => r.Instances)).toHaveLength(12);
  });
});
