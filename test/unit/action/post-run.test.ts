import { DescribeInstancesCommand, EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { State } from '../../../src/lib/constants.js';
import { LaunchSearchWindowMs, runPost } from '../../../src/action/post-run.js';
import { Tags } from '../../../src/aws/tags.js';
import { fakeClock, recordingLogger } from '../../helpers/fakes.js';

function post(state: Record<string, string>) {
  const client = new EC2Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const ec2 = mockClient(client);
  const regions: (string | undefined)[] = [];
  const log = recordingLogger();
  const clock = fakeClock();
  const deps = {
    clock,
    getState: (name: string) => state[name] ?? '',
    ec2: (region: string | undefined) => {
      regions.push(region);
      return client;
    },
    log,
  };
  return { ec2, deps, regions, log, clock };
}

const notFound = (): Error =>
  Object.assign(new Error("The instance ID 'i-2' does not exist"), { name: 'InvalidInstanceID.NotFound' });

describe('runPost', () => {
  it('terminates the saved instances in the saved region', async () => {
    const { ec2, deps, regions } = post({
      [State.TemporaryInstances]: '["i-1","i-2"]',
      [State.Region]: 'us-east-2',
    });
    ec2.on(TerminateInstancesCommand).resolves({});
    await runPost(deps);
    expect(regions).toEqual(['us-east-2']);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-1', 'i-2'],
    });
  });

  it('ignores instances that are already gone and terminates the rest', async () => {
    const { ec2, deps, log } = post({ [State.TemporaryInstances]: '["i-1","i-2"]' });
    ec2.on(TerminateInstancesCommand, { InstanceIds: ['i-1', 'i-2'] }).rejects(notFound());
    ec2.on(TerminateInstancesCommand, { InstanceIds: ['i-1'] }).resolves({});
    ec2.on(TerminateInstancesCommand, { InstanceIds: ['i-2'] }).rejects(notFound());
    await runPost(deps);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(3);
    expect(log.lines.some((l) => l.startsWith('warning'))).toBe(false);
  });

  it('fails the step naming the instances it could not terminate, since they cost money', async () => {
    const { ec2, deps } = post({ [State.TemporaryInstances]: '["i-1"]' });
    ec2
      .on(TerminateInstancesCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    await expect(runPost(deps)).rejects.toThrow(
      'Temporary instance(s) i-1 may still be running (and costing money): terminate them by hand. Could not terminate instance(s): i-1: not authorized',
    );
  });

  it('fails the step when a launch was in flight and it cannot look for its instance', async () => {
    const { ec2, deps } = post({ [State.TemporaryInstances]: '["i-1"]', [State.LaunchToken]: 'tok' });
    ec2.on(DescribeInstancesCommand).rejects(new Error('Could not load credentials from any providers'));
    ec2.on(TerminateInstancesCommand).resolves({});
    await expect(runPost(deps)).rejects.toThrow(
      `Could not look for temporary instances tagged ${Tags.LaunchToken}=tok (a launch was in flight, so one may be running and costing money): Could not load credentials from any providers`,
    );
    // The saved instance still went first.
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({ InstanceIds: ['i-1'] });
  });

  it('looks again with growing pauses until the instances of an unanswered launch appear', async () => {
    const { ec2, deps, clock, log } = post({ [State.LaunchToken]: 'tok' });
    const reservation = (ids: string[]) => ({
      Reservations: [
        { Instances: ids.map((id) => ({ InstanceId: id, State: { Name: 'pending' as const } })) },
      ],
    });
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservation([]))
      .resolvesOnce(reservation([]))
      .resolvesOnce(reservation(['i-7']))
      .resolvesOnce(reservation(['i-7', 'i-8']))
      .resolves(reservation(['i-7', 'i-8']));
    ec2.on(TerminateInstancesCommand).resolves({});
    await runPost(deps);
    expect(clock.sleeps).toEqual([2_000, 4_000, 8_000, 16_000]);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters?.[0]).toEqual({
      Name: `tag:${Tags.LaunchToken}`,
      Values: ['tok'],
    });
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-7', 'i-8'],
    });
    expect(log.lines).toContain('info Terminated temporary instance(s) i-7, i-8');
  });

  it('gives up on an unanswered launch after the window, shorter under a poll scale', async () => {
    for (const scale of [1, 0.01]) {
      const { ec2, deps, clock, log } = post({ [State.LaunchToken]: 'tok' });
      ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
      await runPost({ ...deps, pollScale: scale });
      const waited = clock.sleeps.reduce((a, b) => a + b, 0);
      expect(waited).toBeLessThanOrEqual(LaunchSearchWindowMs * scale);
      expect(waited).toBeGreaterThan(LaunchSearchWindowMs * scale * 0.6);
      expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
      expect(log.lines.at(-1)).toBe('info No temporary instances to clean up');
    }
  });

  it('keeps the instances with keep-instances, naming them', async () => {
    const { ec2, deps, log } = post({ [State.TemporaryInstances]: '["i-1"]', [State.KeepInstances]: 'true' });
    await runPost(deps);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(log.lines[0]).toMatch(/^warning Keeping temporary instance\(s\) i-1/);
  });

  it('does nothing without state, and shrugs at broken state', async () => {
    for (const saved of ['', 'not json', '{"a":1}', '["x-1"]']) {
      const { ec2, deps } = post({ [State.TemporaryInstances]: saved });
      await runPost(deps);
      expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    }
  });
});
