/**
 * A launch cut off on its way (cancel, kill, a lost response) must never leave an instance nobody
 * terminates: the run waits for the id, the step's launch token is saved until every launch
 * answered, and the post step finds instances by that token.
 */
import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type RunInstancesCommandOutput,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import { State } from '../../../src/lib/constants.js';
import { Tags } from '../../../src/aws/tags.js';
import type { waitForSsh } from '../../../src/ssh/index.js';
import { setupInstance } from '../../../src/phases/setup.js';
import { runPost } from '../../../src/action/post-run.js';
import { InstanceRegistry } from '../../../src/phases/instance-registry.js';
import { fakeClock, recordingLogger, testContext, plannedImage } from '../../helpers/fakes.js';

type WaitForSsh = typeof waitForSsh;

const image = plannedImage();

describe('InstanceRegistry launch token', () => {
  it('is saved while a launch has not answered, and cleared once every launch has', () => {
    const saved = new Map<string, string>();
    const registry = new InstanceRegistry((name, value) => saved.set(name, value), 'tok');
    const first = registry.launching();
    const second = registry.launching();
    expect(saved.get(State.LaunchToken)).toBe('tok');
    first();
    first(); // answering twice counts once
    expect(saved.get(State.LaunchToken)).toBe('tok');
    second();
    expect(saved.get(State.LaunchToken)).toBe('');
  });

  it('differs from step to step', () => {
    const save = (): void => undefined;
    expect(new InstanceRegistry(save).launchToken).not.toBe(new InstanceRegistry(save).launchToken);
  });
});

describe('setupInstance cancelled during the launch', () => {
  it('waits for the id instead of abandoning the call, then terminates the instance', async () => {
    const ctx = testContext();
    const ec2 = mockClient(ctx.rt.ec2);
    let answer: (value: Partial<RunInstancesCommandOutput>) => void = () => undefined;
    ec2.on(RunInstancesCommand).callsFake(() => new Promise((resolve) => (answer = resolve)));
    ec2.on(TerminateInstancesCommand).resolves({});
    const waitForSsh = vi.fn<WaitForSsh>();
    const launched = setupInstance({ image: image, waitForSsh }, ctx, ctx.rt.log);
    await vi.waitFor(() => expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(1));
    expect(ctx.saved.get(State.LaunchToken)).toBe(ctx.registry.launchToken);

    ctx.rt.controller.abort(new Error('cancelled by SIGINT'));
    answer({ Instances: [{ InstanceId: 'i-late' }] });
    await expect(launched).rejects.toThrow('cancelled by SIGINT');
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-late'],
    });
    expect(ctx.registry.pending()).toEqual([]);
    expect(ctx.saved.get(State.LaunchToken)).toBe('');
    expect(waitForSsh).not.toHaveBeenCalled();
    const input = ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(input?.ClientToken).toBe(`${ctx.registry.launchToken}-ami-old`);
  });

  it('launches nothing once the run is cancelled', async () => {
    const ctx = testContext();
    const ec2 = mockClient(ctx.rt.ec2);
    ctx.rt.controller.abort(new Error('cancelled by SIGTERM'));
    await expect(setupInstance({ image: image, waitForSsh: vi.fn() }, ctx, ctx.rt.log)).rejects.toThrow(
      'cancelled by SIGTERM',
    );
    expect(ec2.commandCalls(RunInstancesCommand)).toEqual([]);
  });

  it('keeps the token saved when the launch failed, since AWS may have launched anyway', async () => {
    const ctx = testContext();
    const ec2 = mockClient(ctx.rt.ec2);
    ec2.on(RunInstancesCommand).rejects(new Error('socket hang up'));
    await expect(setupInstance({ image: image, waitForSsh: vi.fn() }, ctx, ctx.rt.log)).rejects.toThrow(
      'socket hang up',
    );
    expect(ctx.saved.get(State.LaunchToken)).toBe(ctx.registry.launchToken);
  });
});

describe('runPost with a launch token', () => {
  function post(state: Record<string, string>) {
    const client = new EC2Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const ec2 = mockClient(client);
    ec2.on(TerminateInstancesCommand).resolves({});
    const log = recordingLogger();
    const deps = {
      getState: (name: string) => state[name] ?? '',
      ec2: () => client,
      removeFile: async () => undefined,
      log,
      // The post step looks again after a pause: a fake clock makes the pause instant.
      clock: fakeClock(),
    };
    return { ec2, deps, log };
  }

  it('terminates the live instances carrying the token besides the saved ones', async () => {
    const { ec2, deps, log } = post({
      [State.TemporaryInstances]: '["i-saved"]',
      [State.LaunchToken]: 'tok',
    });
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-saved' }, { InstanceId: 'i-unheard' }] }],
    });
    await runPost(deps);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: `tag:${Tags.LaunchToken}`, Values: ['tok'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-saved', 'i-unheard'],
    });
    expect(
      log.lines.some((l) => l.includes('i-unheard whose launch the main step never heard back from')),
    ).toBe(true);
  });

  it('makes no call at all when every launch answered and nothing is saved', async () => {
    const { ec2, deps, log } = post({ [State.TemporaryInstances]: '[]', [State.LaunchToken]: '' });
    await runPost(deps);
    expect(ec2.calls()).toEqual([]);
    expect(log.lines).toContain('info No temporary instances to clean up');
  });

  it('still terminates the saved instances when the search fails, then fails the step', async () => {
    const { ec2, deps } = post({
      [State.TemporaryInstances]: '["i-saved"]',
      [State.LaunchToken]: 'tok',
    });
    ec2.on(DescribeInstancesCommand).rejects(new Error('not authorized'));
    // An unanswered launch may have left an instance nobody can find now: that must not pass quietly.
    await expect(runPost(deps)).rejects.toThrow(/^Could not look for temporary instances tagged/);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-saved'],
    });
  });
});
