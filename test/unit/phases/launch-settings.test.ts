import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { launchSettingsOf } from '../../../src/phases/launch-settings.js';
import { buildPlan } from '../../../src/phases/plan.js';

const spec = { LaunchTemplateId: 'lt-1', Version: '1' };
const mixed = (name: string, overrides: object[]): AutoScalingGroup =>
  ({
    AutoScalingGroupName: name,
    VPCZoneIdentifier: 'subnet-a,subnet-b',
    MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: spec, Overrides: overrides } },
  }) as AutoScalingGroup;
const version = (data: LaunchTemplateVersion['LaunchTemplateData']): LaunchTemplateVersion => ({
  LaunchTemplateId: 'lt-1',
  LaunchTemplateName: 'web',
  VersionNumber: 1,
  LaunchTemplateData: { ImageId: 'ami-1', ...data },
});

describe('launchSettingsOf', () => {
  it("takes the policy's first override type when the template names none", () => {
    const settings = launchSettingsOf(
      mixed('g', [{ InstanceType: 't4g.small' }, { InstanceType: 'm7g.large' }]),
      version({}),
    );
    expect(settings).toMatchObject({ instanceType: 't4g.small', subnetIds: ['subnet-a', 'subnet-b'] });
  });

  it("sends no type when the template names one: the template's wins", () => {
    const settings = launchSettingsOf(
      mixed('g', [{ InstanceType: 't4g.small' }]),
      version({ InstanceType: 'c7g.large' }),
    );
    expect(settings).toMatchObject({ instanceType: undefined });
  });

  it('skips overrides that bring their own template', () => {
    const overrides = [
      { InstanceType: 'm5.large', LaunchTemplateSpecification: spec },
      { InstanceType: 'm6g.large' },
    ];
    expect(launchSettingsOf(mixed('g', overrides), version({}))).toMatchObject({ instanceType: 'm6g.large' });
  });

  it('explains that attribute-based types leave nothing to launch with', () => {
    const overrides = [{ InstanceRequirements: { VCpuCount: { Min: 2 }, MemoryMiB: { Min: 4096 } } }];
    const settings = launchSettingsOf(mixed('g', overrides), version({}));
    expect(settings).toEqual({ error: expect.stringContaining('InstanceRequirements') });
  });

  it('gives no subnet for a template that pins an existing interface', () => {
    const settings = launchSettingsOf(
      mixed('g', []),
      version({ NetworkInterfaces: [{ DeviceIndex: 0, NetworkInterfaceId: 'eni-1' }] }),
    );
    expect(settings).toMatchObject({ subnetIds: [] });
  });
});

describe('buildPlan with launch settings', () => {
  const templates = new Map([['lt-1', [version({})]]]);

  it('fails a group whose types are attribute-based, naming it, when no group of its image can launch', () => {
    const plan = buildPlan({ groups: [mixed('by-attributes', [{ InstanceRequirements: {} }])], templates });
    expect(plan.images).toEqual([]);
    expect(plan.failures).toEqual([
      { group: 'by-attributes', error: expect.stringContaining('no type can be chosen') },
    ]);
  });

  it('launches the image with the type of a group that has one, for both groups', () => {
    const plan = buildPlan({
      groups: [
        mixed('by-attributes', [{ InstanceRequirements: {} }]),
        mixed('typed', [{ InstanceType: 't4g.micro' }]),
      ],
      templates,
    });
    expect(plan.failures).toEqual([]);
    expect(plan.images[0]).toMatchObject({ instanceType: 't4g.micro' });
    expect(plan.images[0]?.groups.map((g) => g.name)).toEqual(['by-attributes', 'typed']);
  });
});
