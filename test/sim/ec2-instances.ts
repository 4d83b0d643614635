// EC2 instance actions: RunInstances, DescribeInstances, Stop/Start/TerminateInstances, CreateTags,
// DeleteTags, GetConsoleOutput.
import type {
  CreateTagsRequest,
  DeleteTagsRequest,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  GetConsoleOutputRequest,
  GetConsoleOutputResult,
  InstanceStateChange,
  Reservation,
  StartInstancesRequest,
  StopInstancesRequest,
  Tag,
  TerminateInstancesRequest,
} from '@aws-sdk/client-ec2';

import { SimError, invalidParam } from './errors.js';
import { applyFilters, paginate, type FilterSpec } from './filters.js';
import { op, type Handler } from './handler.js';
import { getInstance, startInstance, stopInstance, terminateInstance } from './instances.js';
import { mergeTags, runInstances } from './run-instances.js';
import type { InstanceRecord } from './state.js';
import type { World } from './world.js';

export { tagsFor } from './run-instances.js';

export const instanceFilters: FilterSpec<InstanceRecord> = {
  fields: {
    'instance-id': (r) => r.instance.InstanceId,
    'instance-state-name': (r) => r.instance.State?.Name,
    'instance-state-code': (r) => r.instance.State?.Code,
    'image-id': (r) => r.instance.ImageId,
    'instance-type': (r) => r.instance.InstanceType,
    'subnet-id': (r) => r.instance.SubnetId,
    'vpc-id': (r) => r.instance.VpcId,
    'reservation-id': (r) => r.reservationId,
    'private-ip-address': (r) => r.instance.PrivateIpAddress,
    'ip-address': (r) => r.instance.PublicIpAddress,
    'availability-zone': (r) => r.instance.Placement?.AvailabilityZone,
    'key-name': (r) => r.instance.KeyName,
  },
  tags: (r) => r.instance.Tags,
  invalid: (name) => invalidParam(`The filter '${name}' is invalid`),
};

/**
 * Instances by id; one the API cannot see yet fails the whole call like an unknown one: "if you run a
 * command to modify or describe the resource that you just created, its ID might not have propagated
 * throughout the system" (Eventual consistency in the Amazon EC2 API,
 * https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).
 */
function recordsById(world: World, ids: string[]): InstanceRecord[] {
  const missing = ids.filter((id) => {
    const record = world.state.instances.get(id);
    return !record || !world.visible(record.visibleAt);
  });
  if (missing.length) {
    for (const id of missing) getInstance(world, id); // malformed ids get their own error first
    throw new SimError('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
  }
  return ids.map((id) => getInstance(world, id));
}

const describeInstances = op((input: DescribeInstancesRequest, world: World): DescribeInstancesResult => {
  const ids = input.InstanceIds ?? [];
  if (ids.length && input.MaxResults !== undefined) {
    throw new SimError(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  if (input.MaxResults !== undefined && (input.MaxResults < 5 || input.MaxResults > 1000)) {
    throw invalidParam(
      `Value ( ${input.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
    );
  }
  const source = ids.length
    ? recordsById(world, ids)
    : [...world.state.instances.values()].filter((r) => world.visible(r.visibleAt));
  const matching = applyFilters(source, input.Filters, {
    ...instanceFilters,
    // A launch's tags are searchable only after the tags window (eventual consistency).
    tags: (r) =>
      world.visible(world.state.tagsVisibleAt.get(r.instance.InstanceId ?? '')) ? r.instance.Tags : [],
  });
  const { page, next } = paginate(matching, {
    token: input.NextToken,
    max: input.MaxResults ?? 1000,
    invalidTokenCode: 'InvalidPaginationToken',
  });
  // Instances launched together share their reservation, in launch order.
  const reservations = new Map<string, Reservation>();
  for (const r of page) {
    let res = reservations.get(r.reservationId);
    if (!res) {
      res = { ReservationId: r.reservationId, OwnerId: world.state.accountId, Groups: [], Instances: [] };
      reservations.set(r.reservationId, res);
    }
    res.Instances?.push(r.instance);
  }
  return { Reservations: [...reservations.values()], NextToken: next };
});

/**
 * Refuses the whole request when one instance is protected, as AWS does: stop protection blocks
 * stopping and terminating, termination protection blocks terminating. Auto Scaling ignores both,
 * so only these API calls check.
 */
function checkProtection(records: readonly InstanceRecord[], action: 'stop' | 'terminate'): void {
  for (const r of records) {
    const attribute = r.protection?.stop
      ? 'disableApiStop'
      : action === 'terminate' && r.protection?.termination
        ? 'disableApiTermination'
        : undefined;
    if (attribute)
      throw new SimError(
        'OperationNotPermitted',
        `The instance '${r.instance.InstanceId}' may not be ${action === 'stop' ? 'stopped' : 'terminated'}. Modify its '${attribute}' instance attribute and try again.`,
      );
  }
}

function stateChanges(
  world: World,
  ids: string[] | undefined,
  act: (world: World, r: InstanceRecord) => void,
  protectedFrom?: 'stop' | 'terminate',
): InstanceStateChange[] {
  if (!ids?.length)
    throw new SimError('MissingParameter', 'The request must contain the parameter InstanceId');
  const records = recordsById(world, ids);
  if (protectedFrom) checkProtection(records, protectedFrom);
  return records.map((r) => {
    const previous = { ...r.instance.State };
    act(world, r);
    return {
      InstanceId: r.instance.InstanceId,
      PreviousState: previous,
      CurrentState: { ...r.instance.State },
    };
  });
}

function taggable(world: World, id: string): { Tags?: Tag[] } {
  const found =
    world.state.instances.get(id)?.instance ??
    world.state.images.get(id) ??
    world.state.snapshots.get(id) ??
    world.state.templates.get(id)?.template;
  if (!found) {
    const kind = id.startsWith('ami-')
      ? 'InvalidAMIID'
      : id.startsWith('snap-')
        ? 'InvalidSnapshot'
        : id.startsWith('lt-')
          ? 'InvalidLaunchTemplateId'
          : 'InvalidInstanceID';
    throw new SimError(`${kind}.NotFound`, `The ID '${id}' does not exist`);
  }
  return found;
}

const createTags = op((input: CreateTagsRequest, world: World): void => {
  const targets = (input.Resources ?? []).map((id) => taggable(world, id));
  for (const t of targets) t.Tags = mergeTags(t.Tags ?? [], input.Tags ?? []);
});

const deleteTags = op((input: DeleteTagsRequest, world: World): void => {
  for (const t of (input.Resources ?? []).map((id) => taggable(world, id))) {
    const drop = input.Tags ?? [];
    const left = (t.Tags ?? []).filter(
      (tag) => !drop.some((d) => d.Key === tag.Key && (d.Value === undefined || d.Value === tag.Value)),
    );
    t.Tags = left.length ? left : undefined;
  }
});

const getConsoleOutput = op((input: GetConsoleOutputRequest, world: World): GetConsoleOutputResult => {
  const r = getInstance(world, input.InstanceId ?? '');
  const text = r.booted ? `Cloud-init finished\n${r.instance.InstanceId} login:\n` : '';
  return {
    InstanceId: r.instance.InstanceId,
    Timestamp: world.clock.now(),
    Output: Buffer.from(text).toString('base64'),
  };
});

export const instanceHandlers: Record<string, Handler> = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  StopInstances: op((i: StopInstancesRequest, w: World) => ({
    StoppingInstances: stateChanges(w, i.InstanceIds, stopInstance, 'stop'),
  })),
  StartInstances: op((i: StartInstancesRequest, w: World) => ({
    StartingInstances: stateChanges(w, i.InstanceIds, startInstance),
  })),
  TerminateInstances: op((i: TerminateInstancesRequest, w: World) => ({
    TerminatingInstances: stateChanges(w, i.InstanceIds, terminateInstance, 'terminate'),
  })),
  CreateTags: createTags,
  DeleteTags: deleteTags,
  GetConsoleOutput: getConsoleOutput,
};
