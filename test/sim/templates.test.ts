import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  ModifyLaunchTemplateCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startSimulator, type Simulator } from './index.js';
import { clients, rejection } from './testkit.js';

let sim: Simulator;
let ec2: ReturnType<typeof clients>['ec2'];

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.0001 });
  ({ ec2 } = clients(sim));
});
afterAll(() => sim.stop());
beforeEach(() => sim.reset());

async function template(): Promise<string> {
  const res = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: 'web',
      VersionDescription: 'v1',
      LaunchTemplateData: {
        ImageId: 'ami-0aaaaaaaaaaaaaaa1',
        InstanceType: 't3.small',
        KeyName: 'deploy',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20, VolumeType: 'gp3' } }],
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'app', Value: 'web' }] }],
        NetworkInterfaces: [
          { DeviceIndex: 0, SubnetId: 'subnet-0123456789abcdef0', AssociatePublicIpAddress: true },
        ],
      },
      TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'team', Value: 'ops' }] }],
    }),
  );
  expect(res.LaunchTemplate?.LatestVersionNumber).toBe(1);
  expect(res.LaunchTemplate?.DefaultVersionNumber).toBe(1);
  return res.LaunchTemplate?.LaunchTemplateId ?? '';
}

describe('launch templates', () => {
  it('CreateLaunchTemplateVersion with SourceVersion keeps the source data and overrides the given fields', async () => {
    const id = await template();
    const v2 = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: id,
        SourceVersion: '1',
        VersionDescription: 'new ami',
        LaunchTemplateData: { ImageId: 'ami-0bbbbbbbbbbbbbbb2' },
      }),
    );
    const data = v2.LaunchTemplateVersion?.LaunchTemplateData;
    expect(v2.LaunchTemplateVersion?.VersionNumber).toBe(2);
    expect(v2.LaunchTemplateVersion?.VersionDescription).toBe('new ami');
    expect(data?.ImageId).toBe('ami-0bbbbbbbbbbbbbbb2');
    expect(data?.InstanceType).toBe('t3.small');
    expect(data?.KeyName).toBe('deploy');
    expect(data?.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize).toBe(20);
    expect(data?.TagSpecifications?.[0]?.Tags).toEqual([{ Key: 'app', Value: 'web' }]);
    expect(data?.NetworkInterfaces?.[0]?.SubnetId).toBe('subnet-0123456789abcdef0');
    // Without SourceVersion the new version holds only what was given.
    const v3 = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateName: 'web',
        LaunchTemplateData: { ImageId: 'ami-0ccccccccccccccc3' },
      }),
    );
    expect(v3.LaunchTemplateVersion?.LaunchTemplateData?.InstanceType).toBeUndefined();
    const missing = await rejection(
      ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: id,
          SourceVersion: '9',
          LaunchTemplateData: {},
        }),
      ),
    );
    expect(missing.name).toBe('InvalidLaunchTemplateId.VersionNotFound');
  });

  it('resolves $Latest and $Default, numbers and Min/MaxVersion ranges', async () => {
    const id = await template();
    for (let i = 0; i < 4; i++) {
      await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: id,
          SourceVersion: '$Latest',
          LaunchTemplateData: { ImageId: `ami-0${i}aaaaaaaaaaaaaa0` },
        }),
      );
    }
    await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '3' }));
    const describe = (Versions: string[]) =>
      ec2
        .send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions }))
        .then((r) => r.LaunchTemplateVersions?.map((v) => v.VersionNumber));
    expect(await describe(['$Latest'])).toEqual([5]);
    expect(await describe(['$Default'])).toEqual([3]);
    expect(await describe(['1', '$Latest'])).toEqual([1, 5]);
    const range = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateName: 'web',
        MinVersion: '2',
        MaxVersion: '4',
      }),
    );
    expect(range.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([4, 3, 2]);
    const defaults = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: id,
        Filters: [{ Name: 'is-default-version', Values: ['true'] }],
      }),
    );
    expect(defaults.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([3]);
    const lt = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }));
    expect(lt.LaunchTemplates?.[0]).toMatchObject({
      DefaultVersionNumber: 3,
      LatestVersionNumber: 5,
      Tags: [{ Key: 'team', Value: 'ops' }],
    });
    const badVersion = await rejection(
      ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['42'] })),
    );
    expect(badVersion.name).toBe('InvalidLaunchTemplateId.VersionNotFound');
  });

  it('pages versions and reports unknown templates with their own codes', async () => {
    const id = await template();
    for (let i = 0; i < 6; i++)
      await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: id,
          SourceVersion: '1',
          LaunchTemplateData: {},
        }),
      );
    const seen: number[] = [];
    let token: string | undefined;
    do {
      const page = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, MaxResults: 3, NextToken: token }),
      );
      seen.push(...(page.LaunchTemplateVersions ?? []).map((v) => v.VersionNumber ?? 0));
      token = page.NextToken;
    } while (token);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(
      (
        await rejection(
          ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: 'lt-0123456789abcdef0' })),
        )
      ).name,
    ).toBe('InvalidLaunchTemplateId.NotFound');
    expect(
      (await rejection(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['nope'] })))).name,
    ).toBe('InvalidLaunchTemplateName.NotFoundException');
    expect(
      (
        await rejection(
          ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: {} })),
        )
      ).name,
    ).toBe('InvalidLaunchTemplateName.AlreadyExistsException');
  });

  it('DeleteLaunchTemplateVersions: per-version results, default not deletable, at most 200 per call', async () => {
    const id = await template();
    for (let i = 0; i < 3; i++)
      await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: id,
          SourceVersion: '1',
          LaunchTemplateData: {},
        }),
      );
    const res = await ec2.send(
      new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['1', '2', '4', '99'] }),
    );
    expect(res.SuccessfullyDeletedLaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([2, 4]);
    expect(
      res.UnsuccessfullyDeletedLaunchTemplateVersions?.map((v) => [v.VersionNumber, v.ResponseError?.Code]),
    ).toEqual([
      [1, 'unexpectedError'],
      [99, 'launchTemplateVersionDoesNotExist'],
    ]);
    const left = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id }));
    expect(left.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([3, 1]);
    // Numbers of deleted versions are not reused.
    const next = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: id,
        SourceVersion: '1',
        LaunchTemplateData: {},
      }),
    );
    expect(next.LaunchTemplateVersion?.VersionNumber).toBe(5);
    const tooMany = Array.from({ length: 201 }, (_, i) => String(i + 2));
    const err = await rejection(
      ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: tooMany })),
    );
    expect(err.name).toBe('InvalidParameterValue');
  });
});
