/**
 * Launches the temporary instance of one image: RunInstances from the first group's template
 * version with our tags, registration for termination the moment its id exists, then wait until it
 * runs and answers on SSH. Whatever fails after the launch terminates the instance again.
 */
import type { Instance, Tag as Ec2Tag } from '@aws-sdk/client-ec2';
import { launchInstance, terminateFresh } from '../aws/instances.js';
import type { TemporaryInstance } from '../config/hand-off.js';
import { knownHostsLine } from '../config/known-hosts.js';
import type { SshAddress } from '../config/index.js';
import { ActionName } from '../lib/constants.js';
import { ownTags, Roles, Tags } from '../aws/tags.js';
import { awsErrorCode, errorMessage } from '../lib/errors.js';
import type { PlannedImage } from './plan.js';
import type { Logger } from '../lib/runtime.js';
import type { PipelineContext } from './context.js';
import type { HostKeyVerifier, waitForSsh } from '../ssh/index.js';

/** The tags of a temporary instance and its volumes: the run id lets cleanup find orphans later. */
export function instanceTags(options: {
  readonly image: PlannedImage;
  readonly runId: string;
  readonly commit: string;
  readonly actionVersion: string;
  readonly now: number;
  readonly launchToken: string;
}): Ec2Tag[] {
  return [
    { Key: 'Name', Value: `${ActionName} ${options.runId}` },
    ...ownTags({
      ...options,
      role: Roles.TemporaryInstance,
      sourceImageId: options.image.sourceImageId,
      groups: options.image.groups,
    }),
    { Key: Tags.CreatedAt, Value: new Date(options.now).toISOString() },
    { Key: Tags.LaunchToken, Value: options.launchToken },
  ];
}

/** The address to SSH to, as `ssh-address` asks; an instance without it cannot be reached. */
export function addressOf(instance: Instance, kind: SshAddress): string {
  const address = kind === 'public' ? instance.PublicIpAddress : instance.PrivateIpAddress;
  if (!address)
    throw new Error(`instance ${instance.InstanceId ?? ''} has no ${kind} IP address (ssh-address: ${kind})`);
  return address;
}

/**
 * Terminates a temporary instance now (keep-instances: only says it stays). Never throws: the post
 * step retries whatever is left, so a failure here is a warning.
 */
export async function retireInstance(instanceId: string, ctx: PipelineContext, log: Logger): Promise<void> {
  if (ctx.config.keepInstances) {
    log.warning(
      `Keeping temporary instance ${instanceId} (keep-instances: true); a later cleanup finds it by its tags`,
    );
    return;
  }
  try {
    // The instance may be seconds old: EC2 may not list its id yet (see terminateFresh).
    await terminateFresh(ctx.rt.ec2, [instanceId], {
      log,
      retry: { clock: ctx.rt.clock, delayMs: ctx.intervals.instanceMs, attempts: FreshTerminateAttempts },
    });
    ctx.registry.markTerminated([instanceId]);
    log.info(`Terminated temporary instance ${instanceId}`);
  } catch (error) {
    log.warning(`${errorMessage(error)}; the post step tries again`);
  }
}

/** Terminations of a fresh id that EC2 does not know yet: 2 + 4 + 8 + 16 s of pauses at the default interval. */
const FreshTerminateAttempts = 5;

/**
 * EC2 error codes that concern one subnet (its zone has no capacity for the type, or does not offer
 * it; the subnet was deleted since the group was configured): the group's next subnet may well work.
 */
const SubnetCodes: ReadonlySet<string> = new Set([
  'InsufficientInstanceCapacity',
  'Unsupported',
  'InvalidSubnet',
  'InvalidSubnetID.NotFound',
]);

/** The AWS error code of an error or of what it wraps. */
function codeOf(error: unknown): string | undefined {
  const code = awsErrorCode(error);
  if (error instanceof Error && error.cause !== undefined && (!code || code === 'Error'))
    return codeOf(error.cause);
  return code;
}

/**
 * RunInstances in the image's subnets, one after the other while a subnet has no capacity, and
 * registers the instance the moment its id exists. Each subnet gets its own client token: a token
 * stands for one set of parameters.
 */
async function launchInSubnets(image: PlannedImage, ctx: PipelineContext, log: Logger): Promise<string> {
  const { run } = ctx.config;
  const { launchToken } = ctx.registry;
  const subnets: (string | undefined)[] = image.subnetIds.length > 0 ? [...image.subnetIds] : [undefined];
  const answered = ctx.registry.launching();
  const refused: string[] = [];
  for (const [index, subnetId] of subnets.entries()) {
    try {
      const instanceId = await launchInstance(ctx.rt.ec2, {
        launchTemplateId: image.launchTemplateId,
        version: image.version,
        ...(image.pinsImage ? { imageId: image.sourceImageId } : {}),
        subnetId,
        instanceType: image.instanceType,
        networkInterfaces: image.networkInterfaces,
        tags: instanceTags({
          image,
          runId: run.runId,
          commit: run.commit,
          actionVersion: ctx.actionVersion,
          now: ctx.rt.clock.now(),
          launchToken,
        }),
        clientToken: `${launchToken}-${image.sourceImageId}${index > 0 ? `-${index}` : ''}`,
      });
      ctx.registry.register(instanceId);
      answered();
      return instanceId;
    } catch (error) {
      if (!subnetId || !SubnetCodes.has(codeOf(error) ?? '')) throw error;
      refused.push(`${subnetId}: ${errorMessage(error)}`);
      const next = subnets[index + 1];
      // A refused launch created nothing: the next subnet is a fresh attempt.
      if (next) log.warning(`${errorMessage(error)}; trying subnet ${next}`);
    }
  }
  throw new Error(
    `Could not launch a temporary instance in any subnet of the group (${subnets.join(', ')}): ${refused.join('; ')}`,
  );
}

/**
 * Launches, registers and waits for the instance to run and answer on SSH. ssh-timeout is one
 * deadline from the launch: the wait for `running` and the SSH probe share it.
 */
export async function setupInstance(
  options: {
    readonly image: PlannedImage;
    readonly waitForSsh: typeof waitForSsh;
    /**
     * The run's host key policy: the probe's key exchange checks the instance's host key (and pins
     * it for the deploy), and the key it proved goes into the result for setup's own deploy tool.
     */
    readonly hostKeys?: HostKeyVerifier | undefined;
  },
  ctx: PipelineContext,
  log: Logger,
): Promise<TemporaryInstance> {
  const { image } = options;
  const lane = image.sourceImageId;
  let instanceId: string | undefined;
  try {
    const deadline = ctx.rt.clock.now() + ctx.config.ssh.timeoutSeconds * 1000;
    const instance = await ctx.timeline.record(lane, 'launch', async () => {
      // A run cancelled before this image's turn launches nothing; one cancelled during the launch
      // still waits for the id (see launchInstance) and terminates the instance below.
      ctx.rt.signal.throwIfAborted();
      instanceId = await launchInSubnets(image, ctx, log);
      log.info(
        `Launched temporary instance ${instanceId} from ${image.launchTemplateId} version ${image.version}`,
      );
      return waitUntilRunning(instanceId, { ctx, deadline });
    });
    const address = addressOf(instance, ctx.config.ssh.address);
    const hostKey = await ctx.timeline.record(lane, 'ssh', async () => {
      log.info(`Waiting for SSH on ${address}:${ctx.config.ssh.port}`);
      const key = await options.waitForSsh({
        host: address,
        port: ctx.config.ssh.port,
        timeoutMs: Math.max(0, deadline - ctx.rt.clock.now()),
        clock: ctx.rt.clock,
        signal: ctx.rt.signal,
        log,
        intervalMs: ctx.intervals.sshMs,
        instanceId: instance.InstanceId ?? '',
        ...(options.hostKeys ? { hostKeys: options.hostKeys } : {}),
      });
      return key ? knownHostsLine(address, ctx.config.ssh.port, key) : undefined;
    });
    return {
      instanceId: instance.InstanceId ?? '',
      address,
      sourceImageId: image.sourceImageId,
      groups: image.groups.map((g) => g.name),
      ...(hostKey ? { hostKey } : {}),
    };
  } catch (error) {
    if (instanceId) await retireInstance(instanceId, ctx, log);
    throw error;
  }
}

/** Waits for `running`; an instance that ends instead (capacity, a bad AMI) fails with AWS's reason. */
export async function waitUntilRunning(
  instanceId: string,
  options: { readonly ctx: PipelineContext; readonly deadline: number },
): Promise<Instance> {
  const { ctx } = options;
  return ctx.pollers.instances.waitFor(instanceId, {
    test: (instance) => {
      const state = instance?.State?.Name;
      if (state === 'running') return 'done';
      if (
        state === 'terminated' ||
        state === 'shutting-down' ||
        state === 'stopped' ||
        state === 'stopping'
      ) {
        const reason = instance?.StateReason?.Message ?? instance?.StateTransitionReason ?? '';
        return { error: `instance ${instanceId} is ${state}${reason ? `: ${reason}` : ''}` };
      }
      return 'pending';
    },
    timeoutMs: Math.max(0, options.deadline - ctx.rt.clock.now()),
    what: `instance ${instanceId} to be running`,
    signal: ctx.rt.signal,
  });
}
