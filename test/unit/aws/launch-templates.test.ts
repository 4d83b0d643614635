import {
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  type DescribeLaunchTemplateVersionsCommandInput,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  DescribeTemplateConcurrency,
  describeTemplateVersions,
  resolveVersionNumber,
  versionPointers,
  type VersionRequest,
} from '../../../src/aws/launch-templates.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const request = (n: number): VersionRequest => ({
  key: `lt-${n}`,
  launchTemplateId: `lt-${n}`,
  launchTemplateName: undefined,
  versions: ['$Default', '3'],
});

describe('describeTemplateVersions', () => {
  it(`keeps at most ${DescribeTemplateConcurrency} calls in flight for hundreds of templates`, async () => {
    const ec2 = new EC2Client({ region: 'eu-west-1', credentials });
    let inFlight = 0;
    let peak = 0;
    const mock = mockClient(ec2);
    mock
      .on(DescribeLaunchTemplateVersionsCommand)
      .callsFake(async (input: DescribeLaunchTemplateVersionsCommandInput) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight -= 1;
        return {
          LaunchTemplateVersions: (input.Versions ?? []).map((v, i) => ({
            LaunchTemplateId: input.LaunchTemplateId,
            VersionNumber: i + 1,
            DefaultVersion: v === '$Default',
            LaunchTemplateData: { ImageId: `ami-${input.LaunchTemplateId}` },
          })),
        };
      });
    const requests = Array.from({ length: 256 }, (_, n) => request(n));
    const results = await describeTemplateVersions(ec2, requests);
    expect(peak).toBe(DescribeTemplateConcurrency);
    expect(results.size).toBe(256);
    expect(mock.commandCalls(DescribeLaunchTemplateVersionsCommand)).toHaveLength(256);
  });

  it('sends one call per template with all its versions, and keeps a failure to its template', async () => {
    const ec2 = new EC2Client({ region: 'eu-west-1', credentials });
    const mock = mockClient(ec2);
    mock
      .on(DescribeLaunchTemplateVersionsCommand)
      .callsFake((input: DescribeLaunchTemplateVersionsCommandInput) => {
        if (input.LaunchTemplateId === 'lt-1') throw new Error('InvalidLaunchTemplateId.NotFound');
        return { LaunchTemplateVersions: [{ LaunchTemplateId: input.LaunchTemplateId, VersionNumber: 3 }] };
      });
    const results = await describeTemplateVersions(ec2, [request(0), request(1), request(2)]);
    expect(mock.commandCalls(DescribeLaunchTemplateVersionsCommand).map((c) => c.args[0].input)).toEqual(
      [0, 1, 2].map((n) => ({
        LaunchTemplateId: `lt-${n}`,
        Versions: ['$Default', '3'],
      })),
    );
    expect(results.get('lt-0')).toEqual([{ LaunchTemplateId: 'lt-0', VersionNumber: 3 }]);
    expect(results.get('lt-1')).toEqual({
      error: 'Could not describe launch template lt-1: InvalidLaunchTemplateId.NotFound',
    });
    expect(results.get('lt-2')).toEqual([{ LaunchTemplateId: 'lt-2', VersionNumber: 3 }]);
  });
});

describe('describeTemplateVersions with resolve:ssm: images', () => {
  it('asks again with ResolveAlias only for a template that names a parameter, and keeps the reference', async () => {
    const ec2 = new EC2Client({ region: 'eu-west-1', credentials });
    const mock = mockClient(ec2);
    mock
      .on(DescribeLaunchTemplateVersionsCommand)
      .callsFake((input: DescribeLaunchTemplateVersionsCommandInput) => {
        const ssm = input.LaunchTemplateId === 'lt-1';
        const imageId = ssm && !input.ResolveAlias ? 'resolve:ssm:/al2023' : 'ami-0123';
        return {
          LaunchTemplateVersions: [
            {
              LaunchTemplateId: input.LaunchTemplateId,
              VersionNumber: 3,
              LaunchTemplateData: { ImageId: imageId },
            },
          ],
        };
      });
    const results = await describeTemplateVersions(ec2, [request(0), request(1)]);
    expect(
      mock.commandCalls(DescribeLaunchTemplateVersionsCommand).map((c) => c.args[0].input.ResolveAlias),
    ).toEqual([undefined, undefined, true]);
    expect(results.get('lt-0')).toEqual([
      { LaunchTemplateId: 'lt-0', VersionNumber: 3, LaunchTemplateData: { ImageId: 'ami-0123' } },
    ]);
    expect(results.get('lt-1')).toEqual([
      {
        LaunchTemplateId: 'lt-1',
        VersionNumber: 3,
        LaunchTemplateData: { ImageId: 'ami-0123' },
        imageAlias: 'resolve:ssm:/al2023',
      },
    ]);
  });
});

describe('resolveVersionNumber', () => {
  const pointers = { defaultVersion: 3, latestVersion: 9 };
  it.each([
    ['$Latest', 9],
    ['$Default', 3],
    ['', 3],
    ['7', 7],
    ['0', undefined],
    ['x', undefined],
  ])('%j resolves to %j', (ref, expected) => {
    expect(resolveVersionNumber(ref, pointers)).toBe(expected);
  });
});

describe('versionPointers', () => {
  it('reads the flagged default and the newest number from one answer', () => {
    const versions = [
      { LaunchTemplateId: 'lt-1', VersionNumber: 2, DefaultVersion: true },
      { LaunchTemplateId: 'lt-1', VersionNumber: 7, DefaultVersion: false },
      { LaunchTemplateId: 'lt-1', VersionNumber: 5, DefaultVersion: false },
    ];
    expect(versionPointers(versions)).toEqual({ defaultVersion: 2, latestVersion: 7 });
    expect(versionPointers([])).toEqual({ defaultVersion: undefined, latestVersion: undefined });
  });
});
