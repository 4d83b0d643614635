/**
 * EC2 instance calls of the pipeline: launch the temporary instance, describe many at once, stop
 * and terminate. Describe uses an `instance-id` filter rather than InstanceIds, because one id AWS
 * does not list yet (eventual consistency right after RunInstances) fails a whole InstanceIds call.
 */
import {
  paginateDescribeInstances,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type InstanceNetworkInterfaceSpecification,
  type _InstanceType as InstanceType,
  type LaunchTemplateInstanceNetworkInterfaceSpecification,
  type RunInstancesCommandInput,
  type Tag as Ec2Tag,
} from '@aws-sdk/client-ec2';
import pLimit from 'p-limit';
import { awsErrorCode, errorMessage, wrapError } from '../lib/errors.js';
import type { Clock, Logger } from '../lib/runtime.js';
import { chunk, FilterValuesPerCall, LiveStates } from './batch.js';

/** TerminateInstances takes at most 1000 ids per call. */
const TerminateIdsPerCall = 1000;
/** Single-id retries of a refused batch in flight at once. */
const RetryConcurrency = 4;

/** Every instance matching all the filters, every page read. */
export async function instancesMatching(ec2: EC2Client, filters: readonly Filter[]): Promise<Instance[]> {
  const found: Instance[] = [];
  const pages = paginateDescribeInstances({ client: ec2, pageSize: 1000 }, { Filters: [...filters] });
  for await (const page of pages) {
    for (const reservation of page.Reservations ?? []) found.push(...(reservation.Instances ?? []));
  }
  return found;
}

/** Every given instance AWS knows of, by id; unknown ids are simply absent. */
export async function describeInstances(
  ec2: EC2Client,
  ids: readonly string[],
): Promise<Map<string, Instance>> {
  const found = new Map<string, Instance>();
  for (const part of chunk(ids, FilterValuesPerCall)) {
    for (const instance of await instancesMatching(ec2, [{ Name: 'instance-id', Values: part }])) {
      if (instance.InstanceId) found.set(instance.InstanceId, instance);
    }
  }
  return found;
}

export interface LaunchOptions {
  readonly launchTemplateId: string;
  readonly version: number;
  /**
   * The AMI to boot, over the template's: the one the plan resolved, sent only for a template naming
   * a parameter (otherwise the template's own image is the one the plan saw). A template naming a Systems
   * Manager parameter (`resolve:ssm:`) is read again at each launch, and the parameter may have
   * moved since the plan, which would bake from another base than the groups run.
   */
  readonly imageId?: string;
  /** The subnet: on the primary interface when the template has interfaces, else on the instance. */
  readonly subnetId: string | undefined;
  /** Only when the template names none (RunInstances would launch m1.small). */
  readonly instanceType?: string | undefined;
  /** The template's interfaces, sent again so that the subnet can go on the primary one. */
  readonly networkInterfaces?: readonly LaunchTemplateInstanceNetworkInterfaceSpecification[] | undefined;
  /** Put on the instance and its volumes. */
  readonly tags: readonly Ec2Tag[];
  /**
   * Makes the launch idempotent: the SDK retries a throttled or failed call, and a retry of a launch
   * AWS did carry out must return that instance, not start a second one.
   */
  readonly clientToken?: string;
}

/** The RunInstances request of a launch; the permission preflight sends the same with DryRun. */
export function launchRequest(options: LaunchOptions): RunInstancesCommandInput {
  const tags = [...options.tags];
  return {
    LaunchTemplate: { LaunchTemplateId: options.launchTemplateId, Version: String(options.version) },
    ...(options.imageId ? { ImageId: options.imageId } : {}),
    MinCount: 1,
    MaxCount: 1,
    // A template may turn on termination or stop protection for the group's instances; the
    // temporary instance must still be stoppable for the image and terminable afterwards.
    DisableApiTermination: false,
    DisableApiStop: false,
    ...placement(options),
    ...(options.instanceType ? { InstanceType: options.instanceType as InstanceType } : {}),
    ...(options.clientToken ? { ClientToken: options.clientToken } : {}),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  };
}

/**
 * Launches one instance from a launch template version and returns its id. It takes no abort
 * signal on purpose: AWS carries out a launch whose caller stopped listening, so a cancelled run
 * must still receive the id, to terminate the instance.
 */
export async function launchInstance(ec2: EC2Client, options: LaunchOptions): Promise<string> {
  try {
    const result = await ec2.send(new RunInstancesCommand(launchRequest(options)));
    const id = result.Instances?.[0]?.InstanceId;
    if (!id) throw new Error('RunInstances returned no instance');
    return id;
  } catch (error) {
    throw wrapError(
      `Could not launch an instance from launch template ${options.launchTemplateId} version ${options.version}`,
      error,
    );
  }
}

/**
 * Where the instance goes. AWS refuses interfaces beside an instance-level subnet
 * (InvalidParameterCombination), and interfaces in the request replace the template's; so with a
 * template of interfaces the subnet goes on the primary interface of a copy of the template's
 * interfaces, which keeps their security groups, public address and the rest.
 */
function placement(options: LaunchOptions): {
  SubnetId?: string;
  NetworkInterfaces?: InstanceNetworkInterfaceSpecification[];
} {
  const interfaces = options.networkInterfaces ?? [];
  if (!options.subnetId) return {};
  if (interfaces.length === 0) return { SubnetId: options.subnetId };
  return {
    NetworkInterfaces: interfaces.map((spec) => ({
      ...interfaceRequest(spec),
      ...((spec.DeviceIndex ?? 0) === 0 && (spec.NetworkCardIndex ?? 0) === 0
        ? { SubnetId: options.subnetId }
        : {}),
    })),
  };
}

/** A template's interface as RunInstances takes it (the two shapes differ in a few fields). */
function interfaceRequest(
  spec: LaunchTemplateInstanceNetworkInterfaceSpecification,
): InstanceNetworkInterfaceSpecification {
  const {
    Ipv4Prefixes,
    Ipv6Prefixes,
    Ipv6Addresses,
    EnaSrdSpecification,
    ConnectionTrackingSpecification,
    ...same
  } = spec;
  return {
    ...same,
    ...(Ipv6Addresses ? { Ipv6Addresses: Ipv6Addresses.map((a) => ({ Ipv6Address: a.Ipv6Address })) } : {}),
    ...(Ipv4Prefixes ? { Ipv4Prefixes: Ipv4Prefixes.map((p) => ({ Ipv4Prefix: p.Ipv4Prefix })) } : {}),
    ...(Ipv6Prefixes ? { Ipv6Prefixes: Ipv6Prefixes.map((p) => ({ Ipv6Prefix: p.Ipv6Prefix })) } : {}),
    ...(ConnectionTrackingSpecification ? { ConnectionTrackingSpecification } : {}),
    ...(EnaSrdSpecification ? { EnaSrdSpecification } : {}),
  };
}

/** States in which an instance may still cost money: one shutting down needs no second terminate. */
const CostingStates = LiveStates.filter((state) => state !== 'shutting-down');

/** Ids of the instances carrying the tag `key=value` that are not terminated or shutting down. */
export async function findLiveInstancesByTag(
  ec2: EC2Client,
  tag: { readonly key: string; readonly value: string },
): Promise<string[]> {
  const instances = await instancesMatching(ec2, [
    { Name: `tag:${tag.key}`, Values: [tag.value] },
    { Name: 'instance-state-name', Values: CostingStates },
  ]);
  return instances.flatMap((instance) => (instance.InstanceId ? [instance.InstanceId] : []));
}

/** Stops an instance so its file systems are quiet before imaging. */
export async function stopInstance(ec2: EC2Client, instanceId: string, signal?: AbortSignal): Promise<void> {
  try {
    await ec2.send(
      new StopInstancesCommand({ InstanceIds: [instanceId] }),
      signal ? { abortSignal: signal } : {},
    );
  } catch (error) {
    throw wrapError(`Could not stop instance ${instanceId}`, error);
  }
}

/** What became of one id: `gone` means AWS no longer knew it, which is as good as terminated. */
export type TerminationOutcome =
  | { readonly id: string; readonly outcome: 'terminated' | 'gone' }
  | { readonly id: string; readonly outcome: 'failed'; readonly error: string };

/** Error codes that concern single ids of a call, so a retry of the others one by one can succeed. */
const PerIdCodes = new Set([
  'InvalidInstanceID.NotFound',
  'InvalidInstanceID.Malformed',
  'OperationNotPermitted',
]);

/**
 * Terminates instances, up to 1000 a call, and says what became of each id. One bad id (unknown,
 * protected) fails a whole call, so a batch refused for such a reason is retried id by id; an error
 * that concerns the call itself (access, throttling) fails the batch's ids without retries. Never
 * throws. `signal` is for cleanup only: a run's own instances must still go after a cancel.
 */
export async function terminateEach(
  ec2: EC2Client,
  ids: readonly string[],
  options: { readonly signal?: AbortSignal } = {},
): Promise<TerminationOutcome[]> {
  const send = (part: readonly string[]): Promise<unknown> =>
    ec2.send(
      new TerminateInstancesCommand({ InstanceIds: [...part] }),
      options.signal ? { abortSignal: options.signal } : {},
    );
  const outcomes: TerminationOutcome[] = [];
  const failed = (id: string, error: unknown): TerminationOutcome =>
    awsErrorCode(error) === 'InvalidInstanceID.NotFound'
      ? { id, outcome: 'gone' }
      : { id, outcome: 'failed', error: errorMessage(error) };
  for (const part of chunk([...new Set(ids)], TerminateIdsPerCall)) {
    try {
      await send(part);
      outcomes.push(...part.map((id) => ({ id, outcome: 'terminated' as const })));
    } catch (error) {
      if (part.length === 1 || !PerIdCodes.has(awsErrorCode(error) ?? '')) {
        outcomes.push(...part.map((id) => failed(id, error)));
        continue;
      }
      const limit = pLimit(RetryConcurrency);
      const single = await Promise.all(
        part.map((id) =>
          limit(async (): Promise<TerminationOutcome> => {
            try {
              await send([id]);
              return { id, outcome: 'terminated' };
            } catch (inner) {
              return failed(id, inner);
            }
          }),
        ),
      );
      outcomes.push(...single);
    }
  }
  return outcomes;
}

/**
 * Terminates instances, treating ids AWS no longer knows as already gone, and throws naming every
 * id that could not be terminated. Never takes the run's abort signal: termination is exactly what
 * must still happen after a cancel.
 */
export async function terminateInstances(ec2: EC2Client, ids: readonly string[], log: Logger): Promise<void> {
  const failures: string[] = [];
  for (const result of await terminateEach(ec2, ids)) {
    if (result.outcome === 'gone') log.debug(`${result.id} is already gone`);
    if (result.outcome === 'failed') failures.push(`${result.id}: ${result.error}`);
  }
  if (failures.length > 0) throw new Error(`Could not terminate instance(s): ${failures.join('; ')}`);
}

/** How long a fresh id may stay unknown to TerminateInstances before it counts as gone. */
export interface FreshRetry {
  readonly clock: Clock;
  /** The first pause; each next one doubles. */
  readonly delayMs: number;
  readonly attempts: number;
}

/**
 * terminateInstances for ids this run just launched. Right after RunInstances, EC2 may not know an
 * id yet and answers InvalidInstanceID.NotFound, which does not mean the instance is gone: it may be
 * starting. So such an id is tried again, with a doubling pause, before it counts as gone.
 */
export async function terminateFresh(
  ec2: EC2Client,
  ids: readonly string[],
  options: { readonly log: Logger; readonly retry: FreshRetry },
): Promise<void> {
  const { log, retry } = options;
  const failures: string[] = [];
  let pending = [...new Set(ids)];
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    const gone: string[] = [];
    for (const result of await terminateEach(ec2, pending)) {
      if (result.outcome === 'gone') gone.push(result.id);
      if (result.outcome === 'failed') failures.push(`${result.id}: ${result.error}`);
    }
    if (gone.length === 0) break;
    if (attempt + 1 >= retry.attempts) {
      log.debug(`${gone.join(', ')} still unknown to EC2 after ${retry.attempts} attempts: taken as gone`);
      break;
    }
    log.debug(`${gone.join(', ')} not known to EC2 yet; terminating again shortly`);
    await retry.clock.sleep(retry.delayMs * 2 ** attempt);
    pending = gone;
  }
  if (failures.length > 0) throw new Error(`Could not terminate instance(s): ${failures.join('; ')}`);
}
