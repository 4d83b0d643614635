import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  type AutoScalingGroup,
  type DescribeAutoScalingGroupsCommandInput,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  EC2Client,
  type DescribeImagesCommandInput,
  type Image,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readInventory } from '../../src/cleanup/inventory.js';
import { Tags } from '../../src/constants.js';
import { fakeRuntime } from './fakes.js';

const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);

const web: AutoScalingGroup = {
  AutoScalingGroupName: 'web',
  LaunchTemplate: { LaunchTemplateName: 'web-lt', Version: '$Latest' },
  Instances: [
    {
      InstanceId: 'i-web1',
      LaunchTemplate: { LaunchTemplateId: 'lt-web', Version: '3' },
    } as NonNullable<AutoScalingGroup['Instances']>[number],
  ],
} as AutoScalingGroup;
const mixed: AutoScalingGroup = {
  AutoScalingGroupName: 'mixed',
  MixedInstancesPolicy: {
    LaunchTemplate: {
      LaunchTemplateSpecification: { LaunchTemplateId: 'lt-mixed' },
      Overrides: [
        {
          InstanceType: 'm5.large',
          LaunchTemplateSpecification: { LaunchTemplateId: 'lt-ovr', Version: '2' },
        },
      ],
    },
  },
} as AutoScalingGroup;
const other: AutoScalingGroup = {
  AutoScalingGroupName: 'other',
  LaunchTemplate: { LaunchTemplateId: 'lt-web', Version: '5' },
} as AutoScalingGroup;

/** Serves `items` in pages of `size`, with NextToken = the next offset. */
function pageOf<T>(items: T[], token: string | undefined, size: number): { items: T[]; next?: string } {
  const start = Number(token ?? 0);
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { next: String(end) } : {}) };
}

function image(n: number, templates: string): Image {
  return {
    ImageId: `ami-${n}`,
    State: 'available',
    CreationDate: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    Tags: [
      { Key: Tags.Managed, Value: 'true' },
      { Key: Tags.LaunchTemplates, Value: templates },
    ],
    BlockDeviceMappings: [
      { DeviceName: '/dev/xvda', Ebs: { SnapshotId: `snap-${n}` } },
      { DeviceName: '/dev/sdb' },
    ],
    DeregistrationProtection: n === 1 ? 'enabled' : undefined,
  };
}

function mockAccount(options: { ourImages: Image[] }): void {
  asg.on(DescribeAutoScalingGroupsCommand).callsFake((input: DescribeAutoScalingGroupsCommandInput) => {
    if (input.AutoScalingGroupNames) {
      const names = new Set(input.AutoScalingGroupNames);
      return {
        AutoScalingGroups: [web, mixed, other].filter((g) => names.has(g.AutoScalingGroupName ?? '')),
      };
    }
    const page = pageOf([web, mixed, other], input.NextToken, 2);
    return { AutoScalingGroups: page.items, NextToken: page.next };
  });
  const templates = ['lt-web', 'lt-mixed', 'lt-ovr', 'lt-unrelated'].map((id, i) => ({
    LaunchTemplateId: id,
    LaunchTemplateName: id === 'lt-web' ? 'web-lt' : `${id}-name`,
    DefaultVersionNumber: 1,
    LatestVersionNumber: 3 + i,
  }));
  ec2.on(DescribeLaunchTemplatesCommand).callsFake((input: { NextToken?: string }) => {
    const page = pageOf(templates, input.NextToken, 3);
    return { LaunchTemplates: page.items, NextToken: page.next };
  });
  ec2
    .on(DescribeLaunchTemplateVersionsCommand)
    .callsFake((input: { LaunchTemplateId: string; NextToken?: string }) => {
      const count = input.LaunchTemplateId === 'lt-web' ? 450 : 2;
      const all = Array.from({ length: count }, (_, i) => ({
        LaunchTemplateId: input.LaunchTemplateId,
        VersionNumber: i + 1,
        VersionDescription: i === 0 ? undefined : `asg-rolling ${i}`,
        LaunchTemplateData: { ImageId: i === 1 ? 'resolve:ssm:/ami' : `ami-${i}` },
      }));
      const page = pageOf(all, input.NextToken, 200);
      return { LaunchTemplateVersions: page.items, NextToken: page.next };
    });
  ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
    const filter = input.Filters?.[0];
    if (filter?.Name === `tag:${Tags.Managed}`) {
      const page = pageOf(options.ourImages, input.NextToken, 1000);
      return { Images: page.items, NextToken: page.next };
    }
    // Snapshot users: each asked snapshot is used by its own image, snap-5 also by a user's image.
    const images = (filter?.Values ?? []).map((snap) => ({
      ImageId: `ami-${snap.slice(5)}`,
      BlockDeviceMappings: [{ Ebs: { SnapshotId: snap } }],
    }));
    if (filter?.Values?.includes('snap-5'))
      images.push({ ImageId: 'ami-users', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-5' } }] });
    return { Images: images };
  });
  ec2
    .on(DescribeInstancesCommand)
    .callsFake((input: { Filters?: { Name?: string; Values?: string[] }[] }) => {
      const imageFilter = input.Filters?.find((f) => f.Name === 'image-id');
      if (imageFilter) {
        return imageFilter.Values?.includes('ami-7')
          ? {
              Reservations: [
                { Instances: [{ InstanceId: 'i-user', ImageId: 'ami-7', State: { Name: 'stopped' } }] },
              ],
            }
          : { Reservations: [] };
      }
      return {
        Reservations: [
          {
            Instances: [
              {
                InstanceId: 'i-temp',
                ImageId: 'ami-src',
                State: { Name: 'running' },
                LaunchTime: new Date('2026-01-01T00:00:00Z'),
                Tags: [{ Key: Tags.RunId, Value: 'r1' }],
              },
            ],
          },
        ],
      };
    });
}

describe('readInventory', () => {
  beforeEach(() => {
    ec2.reset();
    asg.reset();
  });

  it('reads every page, resolves templates by name, and follows mixed-instances overrides and group instances', async () => {
    mockAccount({ ourImages: [] });
    const inv = await readInventory({ selection: { names: ['web', 'mixed'], tags: [] } }, fakeRuntime());

    expect(inv.selectedGroups).toEqual(['mixed', 'web']);
    expect(inv.scopedTemplateIds).toEqual(['lt-mixed', 'lt-ovr', 'lt-web']);
    expect(inv.templates.map((t) => t.id)).toEqual(['lt-web', 'lt-mixed', 'lt-ovr', 'lt-unrelated']);
    expect(inv.references).toEqual([
      { group: 'web', templateId: 'lt-web', version: '$Latest', via: 'LaunchTemplate' },
      { group: 'web', templateId: 'lt-web', version: '3', via: 'instance i-web1' },
      { group: 'mixed', templateId: 'lt-mixed', version: '$Default', via: 'MixedInstancesPolicy' },
      { group: 'mixed', templateId: 'lt-ovr', version: '2', via: 'MixedInstancesPolicy override m5.large' },
      { group: 'other', templateId: 'lt-web', version: '5', via: 'LaunchTemplate' },
    ]);
    // No AMI could go, so only the scoped templates' versions are read: all 450 of lt-web, in 3 pages.
    expect(inv.versions.filter((v) => v.templateId === 'lt-web')).toHaveLength(450);
    expect(inv.versions.some((v) => v.templateId === 'lt-unrelated')).toBe(false);
    const versionCalls = ec2.commandCalls(DescribeLaunchTemplateVersionsCommand).map((c) => c.args[0].input);
    expect(versionCalls.filter((i) => i.LaunchTemplateId === 'lt-web')).toHaveLength(3);
    expect(versionCalls.every((i) => i.MaxResults === 200)).toBe(true);
    expect(inv.versions.find((v) => v.templateId === 'lt-web' && v.version === 2)?.imageId).toBeUndefined();
    expect(inv.versions.find((v) => v.templateId === 'lt-web' && v.version === 1)?.description).toBe('');
    expect(
      asg
        .commandCalls(DescribeAutoScalingGroupsCommand)
        .filter((c) => !c.args[0].input.AutoScalingGroupNames),
    ).toHaveLength(2);
    // Nothing to ask about instances of images when no AMI is a candidate.
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
  });

  it('reads every template when an AMI may go, and batches the image and snapshot lookups by 200', async () => {
    const ours = Array.from({ length: 250 }, (_, i) =>
      image(i + 1, i % 2 ? 'lt-web' : 'lt-elsewhere,lt-web'),
    );
    ours.push(image(999, 'lt-unrelated'));
    mockAccount({ ourImages: ours });
    const inv = await readInventory({ selection: { names: ['web'], tags: [] } }, fakeRuntime());

    expect(inv.images).toHaveLength(251);
    expect(inv.images[0]).toEqual({
      id: 'ami-1',
      state: 'available',
      createdAt: Date.UTC(2026, 0, 1, 0, 1),
      tags: { [Tags.Managed]: 'true', [Tags.LaunchTemplates]: 'lt-elsewhere,lt-web' },
      snapshotIds: ['snap-1'],
      deregistrationProtection: 'enabled',
    });
    expect(new Set(inv.versions.map((v) => v.templateId))).toEqual(
      new Set(['lt-web', 'lt-mixed', 'lt-ovr', 'lt-unrelated']),
    );

    const byImage = ec2
      .commandCalls(DescribeInstancesCommand)
      .map((c) => c.args[0].input.Filters ?? [])
      .filter((f) => f.some((x) => x.Name === 'image-id'));
    expect(byImage.map((f) => f.find((x) => x.Name === 'image-id')?.Values?.length)).toEqual([200, 50]);
    expect(byImage[0]?.find((x) => x.Name === 'instance-state-name')?.Values).not.toContain('terminated');
    // ami-999 is out of scope: nobody asks who uses it.
    expect(byImage.flatMap((f) => f.find((x) => x.Name === 'image-id')?.Values ?? [])).not.toContain(
      'ami-999',
    );
    expect(inv.instances.map((i) => [i.id, i.imageId, i.state])).toEqual([['i-user', 'ami-7', 'stopped']]);
    expect(inv.temporaryInstances.map((i) => [i.id, i.launchedAt, i.tags[Tags.RunId]])).toEqual([
      ['i-temp', Date.parse('2026-01-01T00:00:00Z'), 'r1'],
    ]);

    const snapshotCalls = ec2
      .commandCalls(DescribeImagesCommand)
      .map((c) => c.args[0].input)
      .filter((i) => i.Filters?.[0]?.Name === 'block-device-mapping.snapshot-id');
    expect(snapshotCalls.map((i) => i.Filters?.[0]?.Values?.length)).toEqual([200, 50]);
    expect(snapshotCalls.every((i) => i.Owners?.[0] === 'self')).toBe(true);
    expect(inv.snapshotUsers['snap-5']).toEqual(['ami-5', 'ami-users']);
    expect(inv.snapshotUsers['snap-999']).toBeUndefined();
  });

  it('names what it was reading when AWS refuses', async () => {
    mockAccount({ ourImages: [] });
    ec2
      .on(DescribeLaunchTemplatesCommand)
      .rejects(Object.assign(new Error('Access denied'), { name: 'UnauthorizedOperation' }));
    await expect(readInventory({ selection: { names: ['web'], tags: [] } }, fakeRuntime())).rejects.toThrow(
      'Could not describe the launch templates: Access denied',
    );
  });
});
