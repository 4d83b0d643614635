// RunInstances: what AWS checks before it launches (idempotency by ClientToken, instance type
// against image architecture, network interfaces against instance-level settings, subnets that
// exist), then one launch per instance.
import type {
  InstanceNetworkInterfaceSpecification,
  Reservation,
  RunInstancesRequest,
  Tag,
  TagSpecification,
} from '@aws-sdk/client-ec2';

import { SimError, invalidParam } from './errors.js';
import { op } from './handler.js';
import { launchInstance, requireImage } from './instances.js';
import { resolveImageId } from './parameters.js';
import type { InstanceRecord } from './state.js';
import { resolveVersion } from './templates.js';
import type { World } from './world.js';

export const tagsFor = (specs: TagSpecification[] | undefined, type: string): Tag[] =>
  (specs ?? []).filter((s) => s.ResourceType === type).flatMap((s) => s.Tags ?? []);

/** Tags of a later spec replace same-key tags of an earlier one (request tags win over template tags). */
export const mergeTags = (...lists: Tag[][]): Tag[] => [
  ...new Map(lists.flat().map((t) => [t.Key, t])).values(),
];

/**
 * The type EC2 launches when neither the request nor its launch template names one: the API
 * reference of RunInstances, InstanceType, "Default: m1.small"
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html).
 */
export const DefaultInstanceType = 'm1.small';

/** Graviton families (a1, t4g, m6g, c7gn, r8g…) run arm64 images; every other family x86_64. */
export function architectureOf(instanceType: string): 'arm64' | 'x86_64' {
  const family = instanceType.split('.')[0] ?? '';
  return family === 'a1' || /^[a-z]+\d+g[a-z]*$/.test(family) ? 'arm64' : 'x86_64';
}

/** The request as AWS compares a repeat of it: without the token, and without the zone it may vary. */
function fingerprint(input: RunInstancesRequest): string {
  const rest: Record<string, unknown> = { ...input };
  delete rest.ClientToken;
  if (input.Placement) {
    const placement: Record<string, unknown> = { ...input.Placement };
    delete placement.AvailabilityZone;
    rest.Placement = placement;
  }
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value && typeof value === 'object' && !(value instanceof Date)) {
      return Object.fromEntries(
        Object.entries(value)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => [k, sorted(v)]),
      );
    }
    return value;
  };
  return JSON.stringify(sorted(rest));
}

/**
 * A repeat of a request carried out before answers its reservation again, its instances as they are
 * now (terminated ones included); the same token with other parameters is refused. "Ensuring
 * idempotency in Amazon EC2 API requests"
 * (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).
 */
function repeatOf(world: World, input: RunInstancesRequest): Reservation | undefined {
  if (!input.ClientToken) return undefined;
  const earlier = world.state.launchesByToken.get(input.ClientToken);
  if (!earlier) return undefined;
  if (earlier.fingerprint !== fingerprint(input)) {
    throw new SimError(
      'IdempotentParameterMismatch',
      'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
    );
  }
  return {
    ReservationId: earlier.reservationId,
    OwnerId: world.state.accountId,
    Groups: [],
    Instances: earlier.instances,
  };
}

/**
 * Interfaces and instance-level subnet or security groups exclude each other, wherever the interfaces
 * come from; AWS answers "Network interfaces and an instance-level subnet ID may not be specified on
 * the same request" (InvalidParameterCombination; quoted in https://github.com/aws/aws-cli/issues/613).
 * Interfaces in the request replace the template's ("parameters in the request override the
 * template's", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-launch-templates.html).
 */
function networkOf(
  input: RunInstancesRequest,
  data: ReturnType<typeof resolveVersion>['version']['LaunchTemplateData'] | undefined,
): { interfaces: InstanceNetworkInterfaceSpecification[]; subnetId: string | undefined } {
  const interfaces = (input.NetworkInterfaces ??
    data?.NetworkInterfaces ??
    []) as InstanceNetworkInterfaceSpecification[];
  if (interfaces.length > 0 && input.SubnetId) {
    throw new SimError(
      'InvalidParameterCombination',
      'Network interfaces and an instance-level subnet ID may not be specified on the same request',
    );
  }
  const groups = [
    ...(input.SecurityGroupIds ?? []),
    ...(input.SecurityGroups ?? []),
    ...(data?.SecurityGroupIds ?? []),
    ...(data?.SecurityGroups ?? []),
  ];
  if (interfaces.length > 0 && groups.length > 0) {
    throw new SimError(
      'InvalidParameterCombination',
      'Network interfaces and an instance-level security groups may not be specified on the same request',
    );
  }
  const primary = interfaces.find((i) => (i.DeviceIndex ?? 0) === 0);
  return { interfaces, subnetId: primary?.SubnetId ?? input.SubnetId };
}

/**
 * A subnet the account does not have: "InvalidSubnetID.NotFound: The specified subnet does not
 * exist" (Error codes for the Amazon EC2 API,
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
 */
function requireSubnets(world: World, ids: readonly (string | undefined)[]): void {
  for (const id of ids) {
    if (id && !world.state.subnets.has(id))
      throw new SimError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
  }
}

/**
 * An image runs only on a type of its architecture: "The architecture 'x86_64' of the specified
 * instance type does not match the architecture 'arm64' of the specified AMI…" (InvalidParameterValue,
 * as AWS answers it: https://github.com/hashicorp/packer/issues/11429).
 */
function requireArchitecture(world: World, imageId: string, instanceType: string): void {
  const image = world.state.images.get(imageId)?.Architecture ?? 'x86_64';
  const type = architectureOf(instanceType);
  if (image !== type) {
    throw invalidParam(
      `The architecture '${type}' of the specified instance type does not match the architecture '${image}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.`,
    );
  }
}

export const runInstances = op((input: RunInstancesRequest, world: World): Reservation => {
  const repeat = repeatOf(world, input);
  if (repeat) return repeat;
  const min = input.MinCount ?? 1;
  const max = input.MaxCount ?? min;
  if (min < 1 || max < min) throw invalidParam('MinCount must be at least 1 and at most MaxCount');
  const lt = input.LaunchTemplate ? resolveVersion(world, input.LaunchTemplate) : undefined;
  const data = lt?.version.LaunchTemplateData;
  const imageReference = input.ImageId ?? data?.ImageId;
  if (!imageReference)
    throw new SimError('MissingParameter', 'The request must contain the parameter ImageId');
  // A `resolve:ssm:` reference is read again at every launch (SSM parameters as AMI ids).
  const imageId = resolveImageId(world, imageReference);
  const { interfaces, subnetId } = networkOf(input, data);
  requireSubnets(world, [input.SubnetId, ...interfaces.map((i) => i.SubnetId)]);
  requireImage(world, imageId);
  const instanceType = input.InstanceType ?? data?.InstanceType ?? DefaultInstanceType;
  requireArchitecture(world, imageId, instanceType);
  const ltSpecs = (data?.TagSpecifications ?? []) as TagSpecification[];
  const ltTags: Tag[] = lt
    ? [
        { Key: 'aws:ec2launchtemplate:id', Value: lt.record.template.LaunchTemplateId },
        { Key: 'aws:ec2launchtemplate:version', Value: String(lt.version.VersionNumber) },
      ]
    : [];
  const tags = mergeTags(tagsFor(ltSpecs, 'instance'), tagsFor(input.TagSpecifications, 'instance'), ltTags);
  const reservationId = world.state.id('r');
  // The request's value wins over the template's, as for every other launch parameter.
  const protection = {
    termination: input.DisableApiTermination ?? data?.DisableApiTermination ?? false,
    stop: input.DisableApiStop ?? data?.DisableApiStop ?? false,
  };
  const records: InstanceRecord[] = [];
  const visibleAt = world.clock.simTime() + world.latency.consistency.instances;
  for (let i = 0; i < max; i++) {
    const record = launchInstance(world, {
      imageId,
      reservationId,
      instanceType,
      subnetId,
      keyName: input.KeyName ?? data?.KeyName,
      tags,
      launchIndex: i,
      volumes: {
        mappings: [...(data?.BlockDeviceMappings ?? []), ...(input.BlockDeviceMappings ?? [])],
        tags: mergeTags(tagsFor(ltSpecs, 'volume'), tagsFor(input.TagSpecifications, 'volume')),
      },
    });
    record.visibleAt = visibleAt;
    world.state.tagsVisibleAt.set(
      record.instance.InstanceId ?? '',
      world.clock.simTime() + world.latency.consistency.tags,
    );
    record.protection = protection;
    applyInterface(record, interfaces);
    records.push(record);
  }
  const instances = records.map((r) => r.instance);
  if (input.ClientToken) {
    world.state.launchesByToken.set(input.ClientToken, {
      fingerprint: fingerprint(input),
      reservationId,
      instances,
    });
  }
  return { ReservationId: reservationId, OwnerId: world.state.accountId, Groups: [], Instances: instances };
});

/** The primary interface's settings show on the instance: its security groups, no public address when asked. */
function applyInterface(record: InstanceRecord, interfaces: InstanceNetworkInterfaceSpecification[]): void {
  const primary = interfaces.find((i) => (i.DeviceIndex ?? 0) === 0);
  if (!primary) return;
  const { instance } = record;
  const groups = (primary.Groups ?? []).map((GroupId) => ({ GroupId, GroupName: GroupId }));
  instance.SecurityGroups = groups;
  instance.NetworkInterfaces = [
    {
      SubnetId: instance.SubnetId,
      VpcId: instance.VpcId,
      PrivateIpAddress: instance.PrivateIpAddress,
      Groups: groups,
      Attachment: { DeviceIndex: 0, Status: 'attached', DeleteOnTermination: primary.DeleteOnTermination },
      Description: primary.Description,
    },
  ];
  if (primary.AssociatePublicIpAddress === false) instance.PublicIpAddress = undefined;
}
