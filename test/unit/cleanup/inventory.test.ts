import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeLaunchConfigurationsCommand,
  type AutoScalingGroup,
  type DescribeAutoScalingGroupsCommandInput,
  type DescribeLaunchConfigurationsCommandInput,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  type DescribeImagesCommandInput,
  type DescribeSnapshotsCommandInput,
  type Image,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readInventory } from '../../../src/cleanup/inventory.js';
import { Roles, Tags } from '../../../src/aws/tags.js';
import { fakeRuntime } from '../../helpers/fakes.js';

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
  Tags: [{ Key: 'app', Value: 'shop' }],
} as AutoScalingGroup;
const legacy: AutoScalingGroup = {
  AutoScalingGroupName: 'legacy',
  LaunchConfigurationName: 'legacy-lc',
  Tags: [
    { Key: 'app', Value: 'shop' },
    { Key: 'env', Value: 'old' },
  ],
} as AutoScalingGroup;
const groups = [web, mixed, other, legacy];

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

/** A snapshot CreateImage tagged for the given templates. */
function ourSnapshot(id: string, templates: string): Snapshot {
  return {
    SnapshotId: id,
    State: 'completed',
    StartTime: new Date('2026-01-01T00:00:00Z'),
    Description: `Created by CreateImage(i-1) for ami-gone from vol-1`,
    Tags: [
      { Key: Tags.Managed, Value: 'true' },
      { Key: Tags.Role, Value: Roles.Ami },
      { Key: Tags.LaunchTemplates, Value: templates },
    ],
  };
}

function mockAccount(options: { ourImages: Image[]; ourSnapshots?: Snapshot[] }): void {
  asg.on(DescribeAutoScalingGroupsCommand).callsFake((input: DescribeAutoScalingGroupsCommandInput) => {
    const page = pageOf(groups, input.NextToken, 2);
    return { AutoScalingGroups: page.items, NextToken: page.next };
  });
  asg
    .on(DescribeLaunchConfigurationsCommand)
    .callsFake((input: DescribeLaunchConfigurationsCommandInput) => ({
      LaunchConfigurations: (input.LaunchConfigurationNames ?? []).map((name) => ({
        LaunchConfigurationName: name,
        ImageId: 'ami-3',
      })),
    }));
  ec2.on(DescribeVolumesCommand).resolves({ Volumes: [] });
  ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] });
  ec2.on(DescribeSnapshotsCommand).callsFake((input: DescribeSnapshotsCommandInput) => {
    const page = pageOf(options.ourSnapshots ?? [], input.NextToken, 2);
    return { Snapshots: page.items, NextToken: page.next };
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
    // Snapshot users: each asked snapshot is used by its own image, snap-5 also by a user's image;
    // the orphans by none.
    const images = (filter?.Values ?? [])
      .filter((snap) => !snap.startsWith('snap-orphan'))
      .map((snap) => ({
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
    // The groups are described once, every page (the paginator reuses its input object, so the
    // calls are counted), and the selection picked from them.
    const groupCalls = asg.commandCalls(DescribeAutoScalingGroupsCommand).map((c) => c.args[0].input);
    expect(groupCalls).toHaveLength(2);
    expect(groupCalls.every((i) => !i.AutoScalingGroupNames && !i.Filters && i.MaxRecords === 100)).toBe(
      true,
    );
    // Nothing to ask about instances, images or launch configurations when no AMI is a candidate.
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
    expect(asg.commandCalls(DescribeLaunchConfigurationsCommand)).toHaveLength(0);
    expect(inv.launchConfigurations).toEqual([]);
  });

  it('reads every template when an AMI may go, and batches the image and snapshot lookups by 200', async () => {
    const ours = Array.from({ length: 250 }, (_, i) =>
      image(i + 1, i % 2 ? 'lt-web' : 'lt-elsewhere,lt-web'),
    );
    ours.push(image(999, 'lt-unrelated'));
    mockAccount({
      ourImages: ours,
      ourSnapshots: [
        ourSnapshot('snap-1', 'lt-web'),
        ourSnapshot('snap-orphan', 'lt-web'),
        ourSnapshot('snap-orphan-elsewhere', 'lt-unrelated'),
      ],
    });
    const inv = await readInventory({ selection: { names: ['web'], tags: [] } }, fakeRuntime());

    expect(inv.images).toHaveLength(251);
    expect(inv.images[0]).toEqual({
      id: 'ami-1',
      state: 'available',
      createdAt: Date.UTC(2026, 0, 1, 0, 1),
      tags: { [Tags.Managed]: 'true', [Tags.LaunchTemplates]: 'lt-elsewhere,lt-web' },
      snapshotIds: ['snap-1'],
      deregistrationProtection: 'enabled',
      public: false,
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
    // 250 snapshots of candidates, and the one unmapped snapshot of ours in scope.
    expect(snapshotCalls.map((i) => i.Filters?.[0]?.Values?.length)).toEqual([200, 51]);
    expect(snapshotCalls.every((i) => i.Owners?.[0] === 'self')).toBe(true);
    expect(inv.snapshotUsers['snap-5']).toEqual(['ami-5', 'ami-users']);
    expect(inv.snapshotUsers['snap-999']).toBeUndefined();
    expect(inv.snapshotUsers['snap-orphan']).toBeUndefined();

    // Our snapshots by tag, every page; those behind our AMIs or out of scope are left out.
    const snapshotPages = ec2.commandCalls(DescribeSnapshotsCommand).map((c) => c.args[0].input);
    expect(snapshotPages).toHaveLength(2);
    expect(snapshotPages[0]).toMatchObject({
      OwnerIds: ['self'],
      MaxResults: 1000,
      Filters: [
        { Name: `tag:${Tags.Managed}`, Values: ['true'] },
        { Name: `tag:${Tags.Role}`, Values: [Roles.Ami] },
      ],
    });
    expect(inv.snapshots).toEqual([
      {
        id: 'snap-orphan',
        state: 'completed',
        startedAt: Date.parse('2026-01-01T00:00:00Z'),
        tags: { [Tags.Managed]: 'true', [Tags.Role]: Roles.Ami, [Tags.LaunchTemplates]: 'lt-web' },
        description: 'Created by CreateImage(i-1) for ami-gone from vol-1',
      },
    ]);

    // An AMI may go: the launch configurations of every group that has one are read.
    expect(
      asg
        .commandCalls(DescribeLaunchConfigurationsCommand)
        .map((c) => c.args[0].input.LaunchConfigurationNames),
    ).toEqual([['legacy-lc']]);
    expect(inv.launchConfigurations).toEqual([{ name: 'legacy-lc', imageId: 'ami-3', groups: ['legacy'] }]);
  });

  it('picks the selection from all groups: every tag must match, and a missing name is an error', async () => {
    mockAccount({ ourImages: [] });
    let inv = await readInventory(
      { selection: { names: [], tags: [{ key: 'app', value: 'shop' }] } },
      fakeRuntime(),
    );
    expect(inv.selectedGroups).toEqual(['legacy', 'other']);
    inv = await readInventory(
      {
        selection: {
          names: [],
          tags: [
            { key: 'app', value: 'shop' },
            { key: 'env', value: 'old' },
          ],
        },
      },
      fakeRuntime(),
    );
    expect(inv.selectedGroups).toEqual(['legacy']);
    expect(inv.scopedTemplateIds).toEqual([]);
    inv = await readInventory(
      { selection: { names: ['web', 'other'], tags: [{ key: 'app', value: 'shop' }] } },
      fakeRuntime(),
    );
    expect(inv.selectedGroups).toEqual(['other']);
    await expect(
      readInventory({ selection: { names: ['web', 'typo'], tags: [] } }, fakeRuntime()),
    ).rejects.toThrow('Auto Scaling group(s) not found: typo');
  });

  it('gives the images the selected groups use now, for the scope of cut tag lists', async () => {
    mockAccount({ ourImages: [] });
    const inv = await readInventory({ selection: { names: ['web', 'mixed'], tags: [] } }, fakeRuntime());
    // web follows $Latest of lt-web (version 3 → ami-2), mixed $Default of lt-mixed (version 1 → ami-0);
    // the version an instance was launched from is not the group's setting.
    expect(inv.selectedImages).toEqual(['ami-0', 'ami-2']);
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
