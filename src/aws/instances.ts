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
  type Instance,
  type Tag as Ec2Tag,
} from '@aws-sdk/client-ec2';
import { awsErrorCode, errorMessage, wrapError } from '../errors.js';
import type { Logger } from '../runtime.js';

/** AWS accepts at most 200 values per filter. */
const FilterValuesPerCall = 200;
/** TerminateInstances takes at most 1000 ids per call. */
const TerminateIdsPerCall = 1000;

/** Splits a list into pieces of at most `size`, for APIs with a per-call limit. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Every given instance AWS knows of, by id; unknown ids are simply absent. */
export async function describeInstances(
  ec2: EC2Client,
  ids: readonly string[],
): Promise<Map<string, Instance>> {
  const found = new Map<string, Instance>();
  for (const part of chunk(ids, FilterValuesPerCall)) {
    const pages = paginateDescribeInstances(
      { client: ec2, pageSize: 1000 },
      { Filters: [{ Name: 'instance-id', Values: part }] },
    );
    for await (const page of pages) {
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (instance.InstanceId) found.set(instance.InstanceId, instance);
        }
      }
    }
  }
  return found;
}

export interface LaunchOptions {
  readonly launchTemplateId: string;
  readonly version: number;
  /** Only when the template has no network interfaces of its own. */
  readonly subnetId: string | undefined;
  /** Put on the instance and its volumes. */
  readonly tags: readonly Ec2Tag[];
  /**
   * Makes the launch idempotent: the SDK retries a throttled or failed call, and a retry of a launch
   * AWS did carry out must return that instance, not start a second one.
   */
  readonly clientToken?: string;
}

/**
 * Launches one instance from a launch template version and returns its id. It takes no abort
 * signal on purpose: AWS carries out a launch whose caller stopped listening, so a cancelled run
 * must still receive the id, to terminate the instance.
 */
export async function launchInstance(ec2: EC2Client, options: LaunchOptions): Promise<string> {
  const tags = [...options.tags];
  try {
    const result = await ec2.send(
      new RunInstancesCommand({
        LaunchTemplate: { LaunchTemplateId: options.launchTemplateId, Version: String(options.version) },
        MinCount: 1,
        MaxCount: 1,
        ...(options.subnetId ? { SubnetId: options.subnetId } : {}),
        ...(options.clientToken ? { ClientToken: options.clientToken } : {}),
        TagSpecifications: [
          { ResourceType: 'instance', Tags: tags },
          { ResourceType: 'volume', Tags: tags },
        ],
      }),
    );
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

/** States in which an instance still exists and may cost money. */
const LiveStates = ['pending', 'running', 'stopping', 'stopped'];

/** Ids of the instances carrying the tag `key=value` that are not terminated or shutting down. */
export async function findLiveInstancesByTag(
  ec2: EC2Client,
  tag: { readonly key: string; readonly value: string },
): Promise<string[]> {
  const ids: string[] = [];
  const pages = paginateDescribeInstances(
    { client: ec2, pageSize: 1000 },
    {
      Filters: [
        { Name: `tag:${tag.key}`, Values: [tag.value] },
        { Name: 'instance-state-name', Values: LiveStates },
      ],
    },
  );
  for await (const page of pages) {
    for (const reservation of page.Reservations ?? [])
      for (const instance of reservation.Instances ?? [])
        if (instance.InstanceId) ids.push(instance.InstanceId);
  }
  return ids;
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

/**
 * Terminates instances, treating ids AWS no longer knows as already gone. Never takes the run's abort
 * signal: termination is exactly what must still happen after a cancel.
 */
export async function terminateInstances(ec2: EC2Client, ids: readonly string[], log: Logger): Promise<void> {
  const failures: string[] = [];
  for (const part of chunk([...new Set(ids)], TerminateIdsPerCall)) {
    try {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: part }));
    } catch (error) {
      if (awsErrorCode(error) !== 'InvalidInstanceID.NotFound') {
        failures.push(`${part.join(', ')}: ${errorMessage(error)}`);
        continue;
      }
      // One unknown id fails the whole call: retry the others one by one.
      for (const id of part) {
        try {
          await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
        } catch (inner) {
          if (awsErrorCode(inner) === 'InvalidInstanceID.NotFound') log.debug(`${id} is already gone`);
          else failures.push(`${id}: ${errorMessage(inner)}`);
        }
      }
    }
  }
  if (failures.length > 0) throw new Error(`Could not terminate instance(s): ${failures.join('; ')}`);
}
