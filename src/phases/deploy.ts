/**
 * Runs the user's deploy on a temporary instance through the SSH module. The transport is passed
 * in (the real ssh.ts in the action, fakes in tests), so the pipeline never opens a socket itself.
 */
import type { deployOverSsh, HostKeyVerifier, waitForSsh } from '../ssh/index.js';
import type { Logger } from '../lib/runtime.js';
import type { PipelineContext } from './context.js';
import type { TemporaryInstance } from '../config/hand-off.js';

/** What the pipeline needs from SSH: ssh.ts in the action, fakes with the same contract in tests. */
export interface SshTransport {
  readonly waitForSsh: typeof waitForSsh;
  readonly deployOverSsh: typeof deployOverSsh;
}

/** The script's environment: the user's `deploy-env` plus facts about this instance and run. */
export function deployEnv(instance: TemporaryInstance, ctx: PipelineContext): Record<string, string> {
  return {
    ...ctx.config.deploy.env,
    ASG_ROLLING_INSTANCE_ID: instance.instanceId,
    ASG_ROLLING_GROUPS: instance.groups.join(','),
    ASG_ROLLING_COMMIT: ctx.config.run.commit,
    ASG_ROLLING_RUN_ID: ctx.config.run.runId,
  };
}

/** Uploads and runs the deploy script on the instance; a failure fails the image and its groups. */
export async function deployToInstance(
  instance: TemporaryInstance,
  options: {
    readonly ctx: PipelineContext;
    readonly transport: SshTransport;
    readonly hostKeys: HostKeyVerifier;
  },
  log: Logger,
): Promise<void> {
  const { ctx } = options;
  await ctx.timeline.record(instance.sourceImageId, 'deploy', async () => {
    log.info(`Deploying to ${instance.instanceId} (${instance.address})`);
    await options.transport.deployOverSsh({
      host: instance.address,
      port: ctx.config.ssh.port,
      username: ctx.config.ssh.user,
      privateKey: ctx.config.ssh.privateKey,
      hostKeys: options.hostKeys,
      instanceId: instance.instanceId,
      upload: ctx.config.deploy.upload,
      uploadDir: ctx.config.deploy.uploadDir,
      script: ctx.config.deploy.script,
      env: deployEnv(instance, ctx),
      timeoutMs: ctx.config.deploy.timeoutSeconds * 1000,
      workspace: ctx.config.run.workspace,
      log,
      signal: ctx.rt.signal,
    });
  });
}
