// EC2 Instance Connect: SendSSHPublicKey (the JSON 1.1 service, told apart by its X-Amz-Target header)
// and the EC2 Query actions on EC2 Instance Connect Endpoints. A pushed key is what the instance's
// EC2 Instance Connect agent would hand sshd: the sshd of the end-to-end tests asks the control route
// /_sim/instance-connect/keys through its AuthorizedKeysCommand (test/helpers/sshd.ts).
import { randomUUID } from 'node:crypto';

import type {
  CreateInstanceConnectEndpointRequest,
  CreateInstanceConnectEndpointResult,
  DeleteInstanceConnectEndpointRequest,
  DeleteInstanceConnectEndpointResult,
  DescribeInstanceConnectEndpointsRequest,
  DescribeInstanceConnectEndpointsResult,
  Ec2InstanceConnectEndpoint,
  Tag,
} from '@aws-sdk/client-ec2';

import { SimError, invalidParam } from './errors.js';
import { applyFilters, paginate, type FilterSpec } from './filters.js';
import { op, type Handler } from './handler.js';
import { zoneOf } from './instances.js';
import type { Calls } from './server.js';
import type { InstanceConnectEndpointRecord, InstanceRecord } from './state.js';
import type { World } from './world.js';

/** "The key remains for 60 seconds" (SendSSHPublicKey,
 *  https://docs.aws.amazon.com/ec2-instance-connect/latest/APIReference/API_SendSSHPublicKey.html);
 *  the default of `world.keyLifetimeMs`. */
export const KeyLifetimeMs = 60_000;

/** "Each EC2 Instance Connect Endpoint can support up to 20 concurrent connections" (Connect using EC2
 *  Instance Connect Endpoint, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/connect-using-eice.html). */
export const DefaultMaxConnections = 20;

/** Simulated ms an endpoint stays create-in-progress (AWS takes a few minutes) or delete-in-progress. */
export const EndpointCreateMs = 120_000;
export const EndpointDeleteMs = 60_000;

// The request's constraints, from the SendSSHPublicKey API reference (URL above).
const InstanceIdPattern = /^i-[a-f0-9]+$/;
const UserPattern = /^[A-Za-z_][A-Za-z0-9@._-]{0,30}[A-Za-z0-9$_-]?$/;
const ZonePattern = /^(\w+-){2,3}\d+\w+$/;
const KeyTypes = new Set([
  'ssh-rsa',
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
]);

interface SendInput {
  InstanceId?: unknown;
  InstanceOSUser?: unknown;
  SSHPublicKey?: unknown;
  AvailabilityZone?: unknown;
}

const invalidArgs = (message: string): SimError => new SimError('InvalidArgsException', message, 400);

/** `type base64` of an OpenSSH public key line, or undefined when it is not one. */
function keyLine(text: string): string | undefined {
  const [type, blob] = text.trim().split(/\s+/);
  if (!type || !blob || !KeyTypes.has(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return undefined;
  // The blob starts with the key type again (RFC 4253 string): a key of another type is not this key.
  const decoded = Buffer.from(blob, 'base64');
  const length = decoded.length >= 4 ? decoded.readUInt32BE(0) : -1;
  if (length <= 0 || decoded.subarray(4, 4 + length).toString('latin1') !== type) return undefined;
  return `${type} ${blob}`;
}

function sendSshPublicKey(world: World, input: SendInput): { RequestId: string; Success: boolean } {
  const { InstanceId: id, InstanceOSUser: user, SSHPublicKey: key, AvailabilityZone: zone } = input;
  if (typeof id !== 'string' || id.length < 10 || id.length > 32 || !InstanceIdPattern.test(id))
    throw invalidArgs(`Invalid instance ID: ${String(id)}`);
  if (typeof user !== 'string' || user.length < 1 || user.length > 32 || !UserPattern.test(user))
    throw invalidArgs(`Invalid OS user: ${String(user)}`);
  if (typeof key !== 'string' || key.length < 80 || key.length > 4096)
    throw invalidArgs('The SSH public key must be between 80 and 4096 characters long.');
  const line = keyLine(key);
  if (!line)
    throw invalidArgs('The SSH public key is not a valid OpenSSH public key (RSA, ED25519 or ECDSA).');
  if (zone !== undefined && (typeof zone !== 'string' || !ZonePattern.test(zone)))
    throw invalidArgs(`Invalid availability zone: ${String(zone)}`);
  const record = world.state.instances.get(id);
  const inZone = zone === undefined || record?.instance.Placement?.AvailabilityZone === zone;
  if (!record || !world.visible(record.visibleAt) || !inZone)
    throw new SimError(
      'EC2InstanceNotFoundException',
      `Instance ${id} not found${zone === undefined ? '' : ` in ${String(zone)}`}.`,
      404,
    );
  if (record.instance.State?.Name !== 'running')
    throw new SimError(
      'EC2InstanceStateInvalidException',
      `Unable to connect to instance ${id}: it is ${record.instance.State?.Name ?? 'pending'}, not running.`,
      400,
    );
  const now = world.clock.simTime();
  world.state.pushedKeys = world.state.pushedKeys.filter((k) => k.expiresAt > now);
  world.state.pushedKeys.push({ instanceId: id, user, key: line, expiresAt: now + world.keyLifetimeMs });
  return { RequestId: randomUUID(), Success: true };
}

/** The instance that has this private address and has not terminated (addresses are never reused). */
export function instanceAt(world: World, address: string): InstanceRecord | undefined {
  for (const r of world.state.instances.values())
    if (r.instance.PrivateIpAddress === address && r.instance.State?.Name !== 'terminated') return r;
  return undefined;
}

/** What the instance's EC2 Instance Connect agent would give sshd now: the unexpired keys for the user. */
export function validKeys(
  world: World,
  address: string,
  user: string,
): { instanceId?: string; keys: string[] } {
  const record = instanceAt(world, address);
  if (!record) return { keys: [] };
  const id = record.instance.InstanceId ?? '';
  const now = world.clock.simTime();
  const keys = world.state.pushedKeys
    .filter((k) => k.instanceId === id && k.user === user && k.expiresAt > now)
    .map((k) => k.key);
  return { instanceId: id, keys: [...new Set(keys)] };
}

const operations: Record<string, (world: World, input: SendInput) => object> = {
  SendSSHPublicKey: sendSshPublicKey,
};

const TargetPrefix = 'AWSEC2InstanceConnectService.';

/** A JSON 1.1 call (X-Amz-Target: AWSEC2InstanceConnectService.<Action>): the same faults, observer,
 *  permission check and call log as the Query services. */
export async function answerJson(
  world: World,
  calls: Calls,
  target: string,
  text: string,
): Promise<{ status: number; body: string; requestId: string; errorType?: string }> {
  const started = performance.now();
  const requestId = randomUUID();
  const action = target.startsWith(TargetPrefix) ? target.slice(TargetPrefix.length) : target;
  const service = 'ec2-instance-connect' as const;
  let input: Record<string, unknown> = {};
  let outcome: 'ok' | 'error' | 'throttled' = 'ok';
  let error: SimError | undefined;
  let body: string;
  let observed: unknown;
  try {
    const operation = target.startsWith(TargetPrefix) ? operations[action] : undefined;
    if (!operation) throw new SimError('UnknownOperationException', `Unknown operation ${target}`, 400);
    try {
      const parsed: unknown = text ? JSON.parse(text) : {};
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      throw new SimError('SerializationException', 'The request body is not a JSON object.', 400);
    }
    const fault = world.faults.forCall(service, action, input);
    const delay = world.clock.scaled(world.latency.response(action)) + fault.delayMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const failure = fault.fail?.error;
    if (failure === 'throttle') {
      outcome = 'throttled';
      throw new SimError('ThrottlingException', 'Rate exceeded', 429);
    }
    if (failure === 'server') throw new SimError('ServiceException', 'An internal error has occurred', 500);
    if (failure)
      throw new SimError(
        failure.code,
        failure.message ?? `Injected fault: ${failure.code}`,
        failure.status ?? 400,
      );
    observed = world.observer?.({ service, action, params: input }, world.state);
    world.permissions.check(service, action, world.state.accountId);
    body = JSON.stringify(operation(world, input));
  } catch (err) {
    error =
      err instanceof SimError ? err : new SimError('ServiceException', 'An internal error has occurred', 500);
    if (!(err instanceof SimError)) console.error(`sim: ${action} failed:`, err);
    if (outcome === 'ok') outcome = 'error';
    // AWS's JSON protocol error shape: the error's name in __type, its text in Message.
    body = JSON.stringify({ __type: error.code, Message: error.message });
  }
  const status = error?.status ?? 200;
  calls.add({
    time: new Date().toISOString(),
    service,
    action,
    params: input,
    outcome,
    code: error?.code,
    status,
    ms: performance.now() - started,
    ...(observed === undefined ? {} : { observed }),
  });
  return { status, body, requestId, errorType: error?.code };
}

// --- EC2 Instance Connect Endpoints (EC2 Query) ---------------------------------------------------

export interface EndpointSpec {
  subnetId?: string;
  securityGroupIds?: string[];
  preserveClientIp?: boolean;
  tags?: Tag[];
  /** Concurrent tunnels it accepts (default 20). */
  maxConnections?: number;
  /** Fixed id (eice- + 17 hex); generated when omitted. */
  id?: string;
  /** Seeding: already create-complete (default); false starts create-in-progress. */
  complete?: boolean;
}

/** Creates an endpoint in the subnet's VPC. Its DNS name is the simulator's tunnel address. */
export function addEndpoint(world: World, spec: EndpointSpec): InstanceConnectEndpointRecord {
  const subnetId = spec.subnetId ?? 'subnet-0sim0000000000001';
  if (!world.state.subnets.has(subnetId))
    throw new SimError('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
  const { accountId, region } = world.state;
  const id = spec.id ?? world.state.id('eice');
  const endpoint: Ec2InstanceConnectEndpoint = {
    OwnerId: accountId,
    InstanceConnectEndpointId: id,
    InstanceConnectEndpointArn: `arn:aws:ec2:${region}:${accountId}:instance-connect-endpoint/${id}`,
    State: spec.complete === false ? 'create-in-progress' : 'create-complete',
    StateMessage: '',
    // Where the client opens wss://<DnsName>/openTunnel: the simulator's TLS tunnel server.
    DnsName: world.tunnelAddress,
    FipsDnsName: world.tunnelAddress,
    NetworkInterfaceIds: [world.state.id('eni')],
    VpcId: world.state.vpcOf(subnetId),
    AvailabilityZone: zoneOf(world, subnetId),
    CreatedAt: world.clock.now(),
    SubnetId: subnetId,
    PreserveClientIp: spec.preserveClientIp ?? false,
    SecurityGroupIds: spec.securityGroupIds?.length ? spec.securityGroupIds : ['sg-0sim0000000000001'],
    Tags: spec.tags ?? [],
    IpAddressType: 'ipv4',
  };
  const record = { endpoint, maxConnections: spec.maxConnections ?? DefaultMaxConnections };
  world.state.instanceConnectEndpoints.set(id, record);
  return record;
}

const endpointFilters: FilterSpec<InstanceConnectEndpointRecord> = {
  fields: {
    'instance-connect-endpoint-id': (r) => r.endpoint.InstanceConnectEndpointId,
    state: (r) => r.endpoint.State,
    'subnet-id': (r) => r.endpoint.SubnetId,
    'vpc-id': (r) => r.endpoint.VpcId,
  },
  tags: (r) => r.endpoint.Tags,
  invalid: (name) => invalidParam(`The filter '${name}' is invalid`),
};

function endpointById(world: World, id: string): InstanceConnectEndpointRecord {
  const record = world.state.instanceConnectEndpoints.get(id);
  if (!record)
    throw new SimError(
      'InvalidInstanceConnectEndpointId.NotFound',
      `The instance connect endpoint ID '${id}' does not exist`,
    );
  return record;
}

const describeInstanceConnectEndpoints = op(
  (input: DescribeInstanceConnectEndpointsRequest, world: World): DescribeInstanceConnectEndpointsResult => {
    const ids = input.InstanceConnectEndpointIds ?? [];
    const source = ids.length
      ? ids.map((id) => endpointById(world, id))
      : [...world.state.instanceConnectEndpoints.values()];
    const max = input.MaxResults ?? 50;
    if (max < 1 || max > 50)
      throw invalidParam(
        `Value ( ${max} ) for parameter maxResults is invalid. Expecting a value between 1 and 50.`,
      );
    const matched = applyFilters(source, input.Filters, endpointFilters);
    const { page, next } = paginate(matched, {
      token: input.NextToken,
      max,
      invalidTokenCode: 'InvalidNextToken',
    });
    return { InstanceConnectEndpoints: page.map((r) => r.endpoint), NextToken: next };
  },
);

const createInstanceConnectEndpoint = op(
  (input: CreateInstanceConnectEndpointRequest, world: World): CreateInstanceConnectEndpointResult => {
    if (!input.SubnetId)
      throw new SimError('MissingParameter', "The request must contain the parameter 'SubnetId'");
    const record = addEndpoint(world, {
      subnetId: input.SubnetId,
      securityGroupIds: input.SecurityGroupIds,
      preserveClientIp: input.PreserveClientIp,
      tags: input.TagSpecifications?.flatMap((s) => s.Tags ?? []),
      complete: false,
    });
    world.clock.after(EndpointCreateMs, () => {
      if (record.endpoint.State === 'create-in-progress') record.endpoint.State = 'create-complete';
    });
    return { InstanceConnectEndpoint: record.endpoint, ClientToken: input.ClientToken };
  },
);

const deleteInstanceConnectEndpoint = op(
  (input: DeleteInstanceConnectEndpointRequest, world: World): DeleteInstanceConnectEndpointResult => {
    const id = input.InstanceConnectEndpointId ?? '';
    const record = endpointById(world, id);
    record.endpoint.State = 'delete-in-progress';
    world.onEndpointDeleted?.(id);
    world.clock.after(EndpointDeleteMs, () => {
      if (world.state.instanceConnectEndpoints.get(id) === record)
        world.state.instanceConnectEndpoints.delete(id);
    });
    return { InstanceConnectEndpoint: record.endpoint };
  },
);

export const instanceConnectEndpointHandlers: Record<string, Handler> = {
  DescribeInstanceConnectEndpoints: describeInstanceConnectEndpoints,
  CreateInstanceConnectEndpoint: createInstanceConnectEndpoint,
  DeleteInstanceConnectEndpoint: deleteInstanceConnectEndpoint,
};
