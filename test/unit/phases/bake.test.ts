import {
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { joinTagValue } from '../../../src/aws/tags.js';
import { amiName, amiTags, bakeImage } from '../../../src/phases/bake.js';
import { testConfig, testContext, plannedGroup, plannedImage } from '../../helpers/fakes.js';

const image = plannedImage([plannedGroup(), plannedGroup({ name: 'api', versionRef: '$Default' })], {
  subnetIds: [],
});
const instance = {
  instanceId: 'i-1',
  address: '127.0.0.5',
  sourceImageId: 'ami-old',
  groups: ['web', 'api'],
};

describe('names and tags', () => {
  it('names the AMI prefix-source-commit7-timestamp', () => {
    expect(
      amiName({
        prefix: 'shop',
        sourceImageId: 'ami-0abc',
        commit: 'abcdef0123',
        now: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      }),
    ).toBe('shop-ami-0abc-abcdef0-20260102T030405Z');
    expect(amiName({ prefix: 'shop', sourceImageId: 'ami-0abc', commit: '', now: 0 })).toBe(
      'shop-ami-0abc-local-19700101T000000Z',
    );
  });

  it('keeps tag values within 256 characters, cut at a comma', () => {
    const names = Array.from({ length: 40 }, (_, i) => `group-number-${i}`);
    const value = joinTagValue(names);
    expect(value.length).toBeLessThanOrEqual(256);
    expect(value.endsWith(',...')).toBe(true);
    expect(
      value
        .split(',')
        .slice(0, -1)
        .every((n) => names.includes(n)),
    ).toBe(true);
    expect(joinTagValue(['a', 'b', 'a'])).toBe('a,b');
  });

  it('tags the AMI with ours, deduped templates, and the user tags that do not clash', () => {
    const tags = amiTags({
      image,
      runId: '42-1',
      commit: 'abc',
      actionVersion: '1.0.0',
      extra: [
        { key: 'team', value: 'shop' },
        { key: 'asg-rolling:managed', value: 'false' },
      ],
    });
    expect(Object.fromEntries(tags.map((t) => [t.Key, t.Value]))).toEqual({
      'asg-rolling:managed': 'true',
      'asg-rolling:role': 'ami',
      'asg-rolling:run-id': '42-1',
      'asg-rolling:groups': 'web,api',
      'asg-rolling:launch-templates': 'lt-1',
      'asg-rolling:source-image': 'ami-old',
      'asg-rolling:commit': 'abc',
      'asg-rolling:version': '1.0.0',
      team: 'shop',
    });
  });
});

describe('bakeImage', () => {
  it('stops the instance, images it with tags on image and snapshot, and waits until available', async () => {
    const ctx = testContext();
    const ec2 = mockClient(ctx.rt.ec2);
    ec2.on(StopInstancesCommand).resolves({});
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'stopping' } }] }] })
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'stopped' } }] }] });
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-new' });
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({ Images: [{ ImageId: 'ami-new', State: 'pending' }] })
      .resolves({ Images: [{ ImageId: 'ami-new', State: 'available' }] });
    const baked = await bakeImage({ instance, image }, ctx, ctx.rt.log);
    expect(baked.imageId).toBe('ami-new');
    expect(baked.name).toMatch(/^shop-ami-old-abcdef0-2026\d{4}T\d{6}Z$/);
    const create = ec2.commandCalls(CreateImageCommand)[0]?.args[0].input;
    expect(create).toMatchObject({ InstanceId: 'i-1', NoReboot: false, Name: baked.name });
    expect(create?.TagSpecifications?.map((t) => t.ResourceType)).toEqual(['image', 'snapshot']);
    expect(ec2.commandCalls(DescribeImagesCommand)[0]?.args[0].input).toEqual({
      Owners: ['self'],
      Filters: [{ Name: 'image-id', Values: ['ami-new'] }],
      MaxResults: 1000,
    });
    // The image is made only after the stop completed.
    const order = ec2.calls().map((c) => c.args[0].constructor.name);
    expect(order.indexOf('CreateImageCommand')).toBeGreaterThan(
      order.lastIndexOf('DescribeInstancesCommand'),
    );
    expect(ctx.timeline.spans.map((s) => [s.lane, s.phase, s.ok])).toEqual([
      ['ami-old', 'stop', true],
      ['ami-old', 'image', true],
    ]);
  });

  it('images a running instance without reboot when stop-before-image is false', async () => {
    const base = testConfig();
    const ctx = testContext(testConfig({ bake: { ...base.bake, stopBeforeImage: false } }));
    const ec2 = mockClient(ctx.rt.ec2);
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-new' });
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-new', State: 'available' }] });
    await bakeImage({ instance, image }, ctx, ctx.rt.log);
    expect(ec2.commandCalls(StopInstancesCommand)).toHaveLength(0);
    expect(ec2.commandCalls(CreateImageCommand)[0]?.args[0].input.NoReboot).toBe(true);
  });

  it('fails when the image ends failed, with AWS reason', async () => {
    const base = testConfig();
    const ctx = testContext(testConfig({ bake: { ...base.bake, stopBeforeImage: false } }));
    const ec2 = mockClient(ctx.rt.ec2);
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-new' });
    ec2.on(DescribeImagesCommand).resolves({
      Images: [{ ImageId: 'ami-new', State: 'failed', StateReason: { Message: 'snapshot failed' } }],
    });
    ec2.on(DeregisterImageCommand).resolves({
      Return: true,
      DeleteSnapshotResults: [
        { SnapshotId: 'snap-1', ReturnCode: 'success' },
        { SnapshotId: 'snap-2', ReturnCode: 'client-error' },
      ],
    });
    await expect(bakeImage({ instance, image }, ctx, ctx.rt.log)).rejects.toThrow(
      'image ami-new is failed: snapshot failed',
    );
    expect(ctx.timeline.spans[0]?.ok).toBe(false);
    // The failed AMI goes, with its snapshots, so it takes no rollback slot.
    expect(ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input)).toEqual([
      { ImageId: 'ami-new', DeleteAssociatedSnapshots: true },
    ]);
    expect(ctx.rt.log.lines).toContain(
      'info Deregistered ami-new and its snapshot(s) snap-1: the run does not use it',
    );
    expect(ctx.rt.log.lines).toContain(
      'warning Could not delete snapshot(s) snap-2 (client-error) of ami-new; cleanup retires them later',
    );
  });

  it('times out after ami-timeout', async () => {
    const base = testConfig();
    const ctx = testContext(
      testConfig({ bake: { ...base.bake, stopBeforeImage: false, timeoutSeconds: 30 } }),
    );
    const ec2 = mockClient(ctx.rt.ec2);
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-new' });
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-new', State: 'pending' }] });
    ec2.on(DeregisterImageCommand).rejects(new Error('UnauthorizedOperation'));
    await expect(bakeImage({ instance, image }, ctx, ctx.rt.log)).rejects.toThrow(
      'Timed out after 30s waiting for image ami-new to be available',
    );
    expect(ec2.commandCalls(DeregisterImageCommand)).toHaveLength(1);
    expect(ctx.rt.log.lines).toContain(
      'warning Could not deregister ami-new: UnauthorizedOperation; the unused AMI stays until a cleanup retires it',
    );
  });

  it('deregisters the AMI when the run is cancelled while it is pending', async () => {
    const base = testConfig();
    const ctx = testContext(testConfig({ bake: { ...base.bake, stopBeforeImage: false } }));
    const ec2 = mockClient(ctx.rt.ec2);
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-new' });
    ec2.on(DescribeImagesCommand).callsFake(() => {
      ctx.rt.controller.abort(new Error('SIGTERM'));
      return { Images: [{ ImageId: 'ami-new', State: 'pending' }] };
    });
    ec2.on(DeregisterImageCommand).resolves({ Return: true, DeleteSnapshotResults: [] });
    await expect(bakeImage({ instance, image }, ctx, ctx.rt.log)).rejects.toThrow('SIGTERM');
    expect(ec2.commandCalls(DeregisterImageCommand)).toHaveLength(1);
  });

  it('stop and image share one ami-timeout deadline', async () => {
    const base = testConfig();
    const ctx = testContext(testConfig({ bake: { ...base.bake, timeoutSeconds: 30 } }));
    const ec2 = mockClient(ctx.rt.ec2);
    ec2.on(StopInstancesCommand).resolves({});
    // 20 s of stopping (10 polls of 2 s): the image has the 10 s that are left.
    let polls = 0;
    ec2.on(DescribeInstancesCommand).callsFake(() => ({
      Reservations: [
        { Instances: [{ InstanceId: 'i-1', State: { Name: ++polls > 10 ? 'stopped' : 'stopping' } }] },
      ],
    }));
    ec2.on(CreateImageCommand).resolves({ ImageId: 'ami-new' });
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-new', State: 'pending' }] });
    ec2.on(DeregisterImageCommand).resolves({ Return: true });
    const started = ctx.rt.clock.now();
    await expect(bakeImage({ instance, image }, ctx, ctx.rt.log)).rejects.toThrow(
      'Timed out after 8s waiting for image ami-new to be available',
    );
    // Ended within one image poll (5 s) past the 30 s, not after 20 s + a fresh 30 s.
    expect(ctx.rt.clock.now() - started).toBeGreaterThanOrEqual(30_000);
    expect(ctx.rt.clock.now() - started).toBeLessThan(35_000);
  });
});
