// Seed data: images (owned by the account, each with a snapshot), launch templates with versions, and
// groups (with running instances) — plus buildFixture() for the usual "N groups over M images" world.
import type { RequestLaunchTemplateData } from '@aws-sdk/client-ec2';

import { createGroup } from './autoscaling.js';
import { addImage } from './images.js';
import { addEndpoint } from './instance-connect.js';
import type { TemplateRecord } from './state.js';
import { addVersion, setDefault } from './templates.js';
import type { World } from './world.js';

type Tags = Record<string, string>;

export interface FixtureImage {
  name: string;
  /** Fixed id (ami- + 8..17 hex); generated when omitted. */
  imageId?: string;
  sizeGiB?: number;
  /** What the image runs on (default x86_64): RunInstances refuses a type of another architecture. */
  architecture?: 'x86_64' | 'arm64';
  tags?: Tags;
}

export interface FixtureTemplateVersion {
  /** Launch template data as the SDK takes it (ImageId, InstanceType, BlockDeviceMappings…). */
  data?: RequestLaunchTemplateData;
  /** Leave InstanceType out of the version (by default seeded versions name t3.micro). */
  noInstanceType?: boolean;
  /** Use the image with this fixture name as ImageId. */
  imageName?: string;
  description?: string;
}

export interface FixtureTemplate {
  name: string;
  versions: FixtureTemplateVersion[];
  /** Default version number (default 1). */
  defaultVersion?: number;
  tags?: Tags;
}

export interface FixtureGroup {
  name: string;
  /** Launch template by fixture name; version '$Default' when omitted. */
  launchTemplate?: { name: string; version?: string };
  /** Reference the template through MixedInstancesPolicy instead of LaunchTemplate. */
  mixedInstancesPolicy?: boolean;
  /** The policy's instance type overrides, in order (default t3.micro, t3a.micro). */
  instanceTypes?: string[];
  /** A launch configuration (unsupported by the action; no instances are launched). */
  launchConfigurationName?: string;
  desiredCapacity?: number;
  minSize?: number;
  maxSize?: number;
  subnets?: string[];
  defaultInstanceWarmup?: number;
  tags?: Tags;
}

export interface FixtureLaunchConfiguration {
  name: string;
  /** The image with this name (this seed's, else any seeded earlier) or this id as ImageId. */
  imageName?: string;
}

/** A Systems Manager parameter holding an AMI id, for templates whose ImageId is `resolve:ssm:<name>`. */
export interface FixtureParameter {
  name: string;
  /** The image with this fixture name (this seed's, else any seeded earlier) or this id as the value. */
  imageName: string;
}

/** An EC2 Instance Connect Endpoint, create-complete. */
export interface FixtureInstanceConnectEndpoint {
  /** Its subnet (default subnet-0sim0000000000001); its VPC is the subnet's. */
  subnetId?: string;
  securityGroupIds?: string[];
  /** Concurrent tunnels it accepts (default 20, AWS's quota). */
  maxConnections?: number;
  preserveClientIp?: boolean;
  /** Fixed id (eice- + 17 hex); generated when omitted. */
  id?: string;
  tags?: Tags;
}

export interface Fixture {
  /** Subnets that exist besides the defaults and every group's (RunInstances refuses others); one given
   *  with a vpcId is in that VPC, the others in the default VPC vpc-0sim0000000000001. */
  subnets?: (string | { subnetId: string; vpcId: string })[];
  images?: FixtureImage[];
  parameters?: FixtureParameter[];
  launchTemplates?: FixtureTemplate[];
  launchConfigurations?: FixtureLaunchConfiguration[];
  groups?: FixtureGroup[];
  instanceConnectEndpoints?: FixtureInstanceConnectEndpoint[];
}

export interface SeedResult {
  /** image name → image id */
  images: Record<string, string>;
  /** launch template name → launch template id */
  launchTemplates: Record<string, string>;
  groups: string[];
  /** Ids of the seeded EC2 Instance Connect Endpoints, in fixture order. */
  instanceConnectEndpoints?: string[];
}

const tagList = (tags: Tags | undefined) =>
  Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value }));

export function seed(world: World, fixture: Fixture): SeedResult {
  const result: SeedResult = { images: {}, launchTemplates: {}, groups: [] };
  for (const subnet of fixture.subnets ?? []) {
    if (typeof subnet === 'string') world.state.subnets.add(subnet);
    else {
      world.state.subnets.add(subnet.subnetId);
      world.state.subnetVpcs.set(subnet.subnetId, subnet.vpcId);
    }
  }
  for (const img of fixture.images ?? []) {
    const image = addImage(world, {
      name: img.name,
      imageId: img.imageId,
      sizeGiB: img.sizeGiB,
      architecture: img.architecture,
      tags: tagList(img.tags),
    });
    result.images[img.name] = image.ImageId ?? '';
  }
  for (const p of fixture.parameters ?? []) {
    const image = [...world.state.images.values()].find((i) => i.Name === p.imageName);
    world.state.parameters.set(p.name, result.images[p.imageName] ?? image?.ImageId ?? p.imageName);
  }
  for (const lt of fixture.launchTemplates ?? []) {
    const id = world.state.id('lt');
    const record: TemplateRecord = {
      template: {
        LaunchTemplateId: id,
        LaunchTemplateName: lt.name,
        CreateTime: world.clock.now(),
        CreatedBy: `arn:aws:iam::${world.state.accountId}:user/sim`,
        DefaultVersionNumber: 1,
        LatestVersionNumber: 0,
        Tags: lt.tags ? tagList(lt.tags) : undefined,
      },
      versions: new Map(),
      lastNumber: 0,
    };
    world.state.templates.set(id, record);
    for (const v of lt.versions) {
      const data: RequestLaunchTemplateData = v.noInstanceType
        ? { ...v.data }
        : { InstanceType: 't3.micro', ...v.data };
      if (v.imageName)
        data.ImageId = result.images[v.imageName] ?? world.state.images.get(v.imageName)?.ImageId;
      addVersion(world, record, data, v.description);
    }
    setDefault(record, lt.defaultVersion ?? 1);
    result.launchTemplates[lt.name] = id;
  }
  for (const lc of fixture.launchConfigurations ?? []) {
    const image = lc.imageName
      ? [...world.state.images.values()].find((i) => i.Name === lc.imageName || i.ImageId === lc.imageName)
      : undefined;
    const imageId = lc.imageName ? (result.images[lc.imageName] ?? image?.ImageId) : undefined;
    world.state.launchConfigurations.set(lc.name, {
      LaunchConfigurationName: lc.name,
      LaunchConfigurationARN: `arn:aws:autoscaling:${world.state.region}:${world.state.accountId}:launchConfiguration:${world.state.uuid()}:launchConfigurationName/${lc.name}`,
      ImageId: imageId,
      InstanceType: 't3.micro',
      CreatedTime: world.clock.now(),
    });
  }
  for (const g of fixture.groups ?? []) {
    const spec = g.launchTemplate
      ? { LaunchTemplateName: g.launchTemplate.name, Version: g.launchTemplate.version ?? '$Default' }
      : undefined;
    const desired = g.desiredCapacity ?? 2;
    const subnets = g.subnets ?? ['subnet-0aaaa000000000001', 'subnet-0bbbb000000000002'];
    for (const subnet of subnets) world.state.subnets.add(subnet);
    createGroup(
      world,
      {
        AutoScalingGroupName: g.name,
        LaunchTemplate: spec && !g.mixedInstancesPolicy ? spec : undefined,
        MixedInstancesPolicy:
          spec && g.mixedInstancesPolicy
            ? {
                LaunchTemplate: {
                  LaunchTemplateSpecification: spec,
                  Overrides: (g.instanceTypes ?? ['t3.micro', 't3a.micro']).map((InstanceType) => ({
                    InstanceType,
                  })),
                },
                InstancesDistribution: { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 100 },
              }
            : undefined,
        LaunchConfigurationName: g.launchConfigurationName,
        MinSize: g.minSize ?? 0,
        MaxSize: g.maxSize ?? Math.max(desired * 2, 1),
        DesiredCapacity: desired,
        VPCZoneIdentifier: subnets.join(','),
        DefaultInstanceWarmup: g.defaultInstanceWarmup,
        Tags: tagList(g.tags).map((t) => ({ ...t, PropagateAtLaunch: true })),
      },
      // Seeded groups are steady: their instances already run.
      { running: true },
    );
    result.groups.push(g.name);
  }
  for (const e of fixture.instanceConnectEndpoints ?? []) {
    const record = addEndpoint(world, {
      subnetId: e.subnetId,
      securityGroupIds: e.securityGroupIds,
      maxConnections: e.maxConnections,
      preserveClientIp: e.preserveClientIp,
      id: e.id,
      tags: tagList(e.tags),
    });
    (result.instanceConnectEndpoints ??= []).push(record.endpoint.InstanceConnectEndpointId ?? '');
  }
  return result;
}

export interface BuildFixtureOptions {
  /** Number of groups (default 3). */
  groups?: number;
  /** Number of distinct base images the groups are spread over (default 1). */
  images?: number;
  /** Instances per group (default 2). */
  instancesPerGroup?: number;
  /** true: every group uses MixedInstancesPolicy; a number n: every n-th group does. */
  mixedInstancesPolicy?: boolean | number;
  /** How groups reference their template's version (default '$Default'; 'mixed' cycles number/$Default/$Latest). */
  versionMode?: 'number' | '$Default' | '$Latest' | 'mixed';
  /** Group tags (default { app: 'shop', env: 'production' }). */
  tags?: Tags;
  /** Name prefix (default 'shop'): groups `${prefix}-asg-${i}`, templates `${prefix}-lt-${i}`, images `${prefix}-base-${j}`. */
  prefix?: string;
  defaultInstanceWarmup?: number;
}

/** N groups over M images; each group has its own launch template whose version 1 uses one image. */
export function buildFixture(opts: BuildFixtureOptions = {}): Fixture {
  const n = opts.groups ?? 3;
  const m = Math.max(1, opts.images ?? 1);
  const prefix = opts.prefix ?? 'shop';
  const tags = opts.tags ?? { app: 'shop', env: 'production' };
  const images = Array.from({ length: m }, (_, j) => ({
    name: `${prefix}-base-${j}`,
    tags: { role: 'base' },
  }));
  const modes = ['1', '$Default', '$Latest'];
  const launchTemplates: FixtureTemplate[] = [];
  const groups: FixtureGroup[] = [];
  for (let i = 0; i < n; i++) {
    launchTemplates.push({
      name: `${prefix}-lt-${i}`,
      versions: [{ imageName: `${prefix}-base-${i % m}`, description: 'initial' }],
    });
    const mode = opts.versionMode ?? '$Default';
    const version = mode === 'mixed' ? modes[i % modes.length] : mode === 'number' ? '1' : mode;
    const mip = opts.mixedInstancesPolicy;
    groups.push({
      name: `${prefix}-asg-${i}`,
      launchTemplate: { name: `${prefix}-lt-${i}`, version },
      mixedInstancesPolicy: mip === true || (typeof mip === 'number' && mip > 0 && i % mip === 0),
      desiredCapacity: opts.instancesPerGroup ?? 2,
      defaultInstanceWarmup: opts.defaultInstanceWarmup,
      tags: { ...tags, Name: `${prefix}-asg-${i}` },
    });
  }
  return { images, launchTemplates, groups };
}
