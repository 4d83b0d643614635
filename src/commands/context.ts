/**
 * What every command receives from the action's main step: the config, the runtime, what the run
 * records (report, timeline, summary sections) and the few things that reach outside the process
 * (outputs, the job environment, SSH, cleanup). Built once per run by action/main.ts.
 */
import type { Runtime } from '../aws/clients.js';
import { findSelectedGroups } from '../aws/groups.js';
import type { runCleanup } from '../cleanup/index.js';
import type { Config, SshConfig } from '../config/index.js';
import { createPollers, type PipelineContext, type PollIntervals } from '../phases/context.js';
import type { SshTransport } from '../phases/deploy.js';
import type { InstanceRegistry } from '../phases/instance-registry.js';
import type { RunReport } from '../report/summary.js';
import type { Timeline } from '../report/timeline.js';
import type { HostKeyVerifier } from '../ssh/index.js';
import type { waitIdle } from './wait-idle.js';

/** The command's ways out of the process; the action passes @actions/core and the real SSH stack. */
export interface CommandDeps {
  readonly setOutput: (name: string, value: string) => void;
  readonly exportVariable: (name: string, value: string) => void;
  readonly transport: SshTransport;
  readonly createHostKeyVerifier: (ssh: SshConfig) => HostKeyVerifier;
  readonly runCleanup: typeof runCleanup;
  readonly waitIdle: typeof waitIdle;
}

export interface CommandContext {
  readonly config: Config;
  readonly rt: Runtime;
  /** The region the clients talk to; '' when unknown. */
  readonly region: string;
  readonly intervals: PollIntervals;
  readonly registry: InstanceRegistry;
  readonly report: RunReport;
  readonly timeline: Timeline;
  /** Extra sections of the job summary (cleanup's table), in order. */
  readonly sections: string[];
  readonly actionVersion: string;
  readonly deps: CommandDeps;
}

/** The context the pipeline stages share, with one set of pollers for the whole run. */
export function pipelineContext(ctx: CommandContext): PipelineContext {
  return {
    config: ctx.config,
    rt: ctx.rt,
    registry: ctx.registry,
    pollers: createPollers(ctx.rt, ctx.intervals),
    timeline: ctx.timeline,
    actionVersion: ctx.actionVersion,
    intervals: ctx.intervals,
  };
}

/** The names of the selected groups; throws when the selection matches none. */
export async function selectedNames(ctx: CommandContext): Promise<string[]> {
  const groups = await findSelectedGroups(ctx.config.selection, ctx.rt);
  return groups.map((g) => g.AutoScalingGroupName ?? '');
}
