/**
 * `deploy`, `setup` and `finalize`: plan, print the plan, run one pipeline per image, then hand the
 * instances over (setup) or clean up (deploy, finalize).
 */
import * as core from '@actions/core';
import { encodeSetupResult, SetupResultVariable } from '../config/hand-off.js';
import { discover } from '../phases/discover.js';
import { runPipelines, type PipelineMode } from '../phases/pipeline.js';
import { verifyHandOff } from '../phases/verify-hand-off.js';
import { formatPlan, planForSetup } from '../phases/plan.js';
import { planReuse } from '../phases/reuse.js';
import { createLimiter } from '../lib/parallel.js';
import { describePipelinePlan, pipelineTargets } from '../phases/preflight.js';
import { cleanupAfterRoll } from './cleanup.js';
import { pipelineContext, type CommandContext } from './context.js';
import { dryRunOrPreflight } from './preflight.js';

export async function deployCommand(mode: PipelineMode, ctx: CommandContext): Promise<void> {
  const { config, rt, deps, report } = ctx;
  let plan = await discover(config.selection, rt);
  let instances;
  if (mode === 'finalize') {
    if (!config.setupResult) throw new Error('finalize needs the result of an earlier setup step');
    await verifyHandOff(config.setupResult, { runId: config.run.runId, ec2: rt.ec2 });
    ({ plan, instances } = planForSetup(plan, config.setupResult));
  }
  const pipeline = pipelineContext(ctx);
  // Only a deploy knows what goes into the image; setup and finalize leave that to the user's tool.
  const reuse = mode === 'deploy' ? await planReuse(plan, pipeline) : undefined;
  core.startGroup('Plan');
  rt.log.info(formatPlan(plan, reuse?.reused));
  core.endGroup();
  for (const warning of plan.warnings) rt.log.child(warning.group).warning(warning.error);
  const planned = plan;
  const stop = await dryRunOrPreflight(ctx, {
    targets: pipelineTargets(planned, mode, { config }, instances, reuse?.reused),
    describe: (checks) =>
      describePipelinePlan(planned, {
        mode,
        ctx: { config },
        checks,
        ...(reuse ? { reused: reuse.reused } : {}),
      }),
  });
  if (stop) return;
  await runPipelines(plan, {
    mode,
    ctx: pipeline,
    report,
    limiter: createLimiter(config.maxParallel),
    transport: deps.transport,
    // setup checks host keys as deploy does: its instances go to the user's own deploy tool.
    ...(mode === 'finalize' ? {} : { hostKeys: deps.createHostKeyVerifier(config.ssh) }),
    ...(instances ? { instances } : {}),
    ...(reuse ? { reuse } : {}),
  });
  if (mode === 'setup') {
    if (report.instances.length > 0) {
      deps.exportVariable(
        SetupResultVariable,
        encodeSetupResult({ runId: config.run.runId, region: ctx.region, images: report.instances }),
      );
    }
    return;
  }
  if (rt.signal.aborted) return;
  await cleanupAfterRoll(ctx);
}
