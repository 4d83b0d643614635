import { EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { State } from '../../../src/lib/constants.js';
import { runPost } from '../../../src/action/post-run.js';
import { recordingLogger } from '../../helpers/fakes.js';

function post(state: Record<string, string>) {
  const client = new EC2Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const ec2 = mockClient(client);
  const regions: (string | undefined)[] = [];
  const log = recordingLogger();
  const deps = {
    getState: (name: string) => state[name] ?? '',
    ec2: (region: string | undefined) => {
      regions.push(region);
      return client;
    },
    log,
  };
  return { ec2, deps, regions, log };
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

  it('turns a failing cleanup into a warning, never a failure', async () => {
    const { ec2, deps, log } = post({ [State.TemporaryInstances]: '["i-1"]' });
    ec2
      .on(TerminateInstancesCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    await expect(runPost(deps)).resolves.toBeUndefined();
    expect(log.lines).toContain(
      'warning Could not clean up the temporary instances: Could not terminate instance(s): i-1: not authorized',
    );
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
