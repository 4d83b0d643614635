import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { buildPlan, formatPlan, templateRefOf, versionRequests } from '../../../src/phases/plan.js';

const lt = (id: string, version: string | undefined): AutoScalingGroup['LaunchTemplate'] => ({
  LaunchTemplateId: id,
  LaunchTemplateName: `${id}-name`,
  ...(version ? { Version: version } : {}),
});

const group = (name: string, extra: Partial<AutoScalingGroup>): AutoScalingGroup =>
  ({
    AutoScalingGroupName: name,
    VPCZoneIdentifier: `subnet-${name}a,subnet-${name}b`,
    ...extra,
  }) as AutoScalingGroup;

const v = (
  id: string,
  n: number,
  image: string,
  extra: Partial<LaunchTemplateVersion> = {},
): LaunchTemplateVersion => ({
  LaunchTemplateId: id,
  LaunchTemplateName: `${id}-name`,
  VersionNumber: n,
  DefaultVersion: false,
  LaunchTemplateData: { ImageId: image },
  ...extra,
});

describe('templateRefOf', () => {
  it.each([
    ['plain template with a number', { LaunchTemplate: lt('lt-1', '4') }, { key: 'lt-1', version: '4' }],
    [
      'no version means $Default',
      { LaunchTemplate: lt('lt-1', undefined) },
      { key: 'lt-1', version: '$Default' },
    ],
    [
      'mixed instances policy',
      { MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: lt('lt-2', '$Latest') } } },
      { key: 'lt-2', version: '$Latest' },
    ],
    [
      'template by name only',
      { LaunchTemplate: { LaunchTemplateName: 'web', Version: '$Latest' } },
      { key: 'name:web', version: '$Latest' },
    ],
  ])('%s', (_, extra, expected) => {
    expect(templateRefOf(group('g', extra as Partial<AutoScalingGroup>))).toMatchObject(expected);
  });

  it('explains that launch configurations are not supported', () => {
    const ref = templateRefOf(group('old', { LaunchConfigurationName: 'lc-2019' }));
    expect(ref).toEqual({ error: expect.stringContaining('launch configuration lc-2019') });
  });
});

describe('versionRequests', () => {
  it('asks once per template for every version its groups use', () => {
    const requests = versionRequests([
      group('a', { LaunchTemplate: lt('lt-1', '$Latest') }),
      group('b', { LaunchTemplate: lt('lt-1', '3') }),
      group('c', { LaunchTemplate: lt('lt-1', '$Latest') }),
      group('d', {
        MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: lt('lt-2', undefined) } },
      }),
      group('e', { LaunchConfigurationName: 'lc' }),
    ]);
    expect(requests).toEqual([
      { key: 'lt-1', launchTemplateId: 'lt-1', launchTemplateName: 'lt-1-name', versions: ['$Latest', '3'] },
      { key: 'lt-2', launchTemplateId: 'lt-2', launchTemplateName: 'lt-2-name', versions: ['$Default'] },
    ]);
  });
});

describe('buildPlan', () => {
  it('dedupes by source image and launches from the first group of each image', () => {
    const plan = buildPlan({
      groups: [
        group('api', { LaunchTemplate: lt('lt-1', '$Latest') }),
        group('web', { LaunchTemplate: lt('lt-1', '3') }),
        group('worker', {
          MixedInstancesPolicy: {
            LaunchTemplate: {
              LaunchTemplateSpecification: lt('lt-2', undefined),
              Overrides: [{ InstanceType: 'm7g.large' }],
            },
          },
        }),
      ],
      templates: new Map([
        ['lt-1', [v('lt-1', 3, 'ami-old'), v('lt-1', 4, 'ami-old')]],
        ['lt-2', [v('lt-2', 1, 'ami-other', { DefaultVersion: true })]],
      ]),
    });
    expect(plan.failures).toEqual([]);
    expect(plan.images.map((i) => [i.sourceImageId, i.launchTemplateId, i.version, i.subnetIds])).toEqual([
      ['ami-old', 'lt-1', 4, ['subnet-apia', 'subnet-apib']],
      ['ami-other', 'lt-2', 1, ['subnet-workera', 'subnet-workerb']],
    ]);
    expect(
      plan.images[0]?.groups.map((g) => [
        g.name,
        g.version,
        g.versionRef,
        g.mixedInstancesPolicy !== undefined,
      ]),
    ).toEqual([
      ['api', 4, '$Latest', false],
      ['web', 3, 'number', false],
    ]);
    const worker = plan.images[1]?.groups[0];
    expect(worker).toMatchObject({ name: 'worker', versionRef: '$Default' });
    expect(worker?.mixedInstancesPolicy?.LaunchTemplate?.Overrides).toEqual([{ InstanceType: 'm7g.large' }]);
  });

  it("launches a template of network interfaces in the group's subnets, keeping the interfaces", () => {
    const interfaces = [{ DeviceIndex: 0, AssociatePublicIpAddress: true, Groups: ['sg-1'] }];
    const plan = buildPlan({
      groups: [group('a', { LaunchTemplate: lt('lt-1', '1') })],
      templates: new Map([
        [
          'lt-1',
          [
            v('lt-1', 1, 'ami-1', {
              LaunchTemplateData: { ImageId: 'ami-1', NetworkInterfaces: interfaces },
            }),
          ],
        ],
      ]),
    });
    expect(plan.images[0]?.subnetIds).toEqual(['subnet-aa', 'subnet-ab']);
    expect(plan.images[0]?.networkInterfaces).toEqual(interfaces);
  });

  it('pins the resolved AMI only for a version that names a parameter', () => {
    const plan = buildPlan({
      groups: [
        group('a', { LaunchTemplate: lt('lt-1', '1') }),
        group('b', { LaunchTemplate: lt('lt-2', '1') }),
      ],
      templates: new Map([
        ['lt-1', [{ ...v('lt-1', 1, 'ami-1'), imageAlias: 'resolve:ssm:/al2023' }]],
        ['lt-2', [v('lt-2', 1, 'ami-2')]],
      ]),
    });
    expect(plan.images.map((i) => [i.sourceImageId, i.pinsImage ?? false])).toEqual([
      ['ami-1', true],
      ['ami-2', false],
    ]);
  });

  it('fails only the groups it cannot plan, each with its reason', () => {
    const plan = buildPlan({
      groups: [
        group('good', { LaunchTemplate: lt('lt-1', '1') }),
        group('legacy', { LaunchConfigurationName: 'lc-1' }),
        group('gone', { LaunchTemplate: lt('lt-9', '1') }),
        group('missing-version', { LaunchTemplate: lt('lt-1', '8') }),
        group('ssm', { LaunchTemplate: lt('lt-3', '1') }),
      ],
      templates: new Map<string, LaunchTemplateVersion[] | { error: string }>([
        ['lt-1', [v('lt-1', 1, 'ami-1')]],
        ['lt-9', { error: 'Could not describe launch template lt-9: not found' }],
        ['lt-3', [v('lt-3', 1, 'resolve:ssm:/img')]],
      ]),
    });
    expect(plan.images.map((i) => i.groups.map((g) => g.name))).toEqual([['good']]);
    expect(plan.failures.map((f) => f.group)).toEqual(['legacy', 'gone', 'missing-version', 'ssm']);
    expect(plan.failures[1]?.error).toContain('not found');
    expect(plan.failures[2]?.error).toBe('launch template lt-1 has no version 8');
  });

  it('formats a table naming every group, its image and version', () => {
    const plan = buildPlan({
      groups: [
        group('web', { LaunchTemplate: lt('lt-1', '$Default') }),
        group('old', { LaunchConfigurationName: 'lc' }),
      ],
      templates: new Map([['lt-1', [v('lt-1', 2, 'ami-1', { DefaultVersion: true })]]]),
    });
    const text = formatPlan(plan);
    expect(text).toContain('1 group(s), 1 temporary instance(s)');
    expect(text).toMatch(/web\s+ami-1\s+lt-1 \(lt-1-name\)\s+2\s+\$Default\s+no/);
    expect(text).toContain('ami-1: launch from lt-1 version 2 in subnet-weba');
    expect(text).toContain('Not deployable: old uses launch configuration lc');
  });
});
