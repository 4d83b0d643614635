/**
 * Orchestration only: config → runtime → the command → outputs and job summary. Everything that
 * decides or talks to AWS lives in plan.ts, pipeline.ts, phases/ and aws/; the dependencies are
 * injectable so the whole step can run against fakes or the simulator.
 */
import * as core from '@actions/core';
import { createClients as createSdkClients, type AwsClients } from '../aws/clients.js';
import { discover, findSelectedGroups } from '../phases/discover.js';
import { terminateInstances } from '../aws/instances.js';
import { runCleanup as realRunCleanup, type CleanupReport } from '../cleanup/index.js';
import {
  loadConfig,
  encodeSetupResult,
  SetupResultVariable,
  type Config,
  type SshConfig,
} from '../config/index.js';
import { Outputs, State } from '../lib/constants.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger } from './log.js';
import { createLimiter } from '../lib/parallel.js';
import { runPipelines, type PipelineMode } from '../phases/pipeline.js';
import { formatPlan, planForSetup } from '../phases/plan.js';
import {
  createPollers,
  DefaultPollIntervals,
  scalePollIntervals,
  type PipelineContext,
  type PollIntervals,
} from '../phases/context.js';
import type { SshTransport } from '../phases/deploy.js';
import { refreshGroups } from '../commands/refresh.js';
import { waitIdle as realWaitIdle } from '../commands/wait-idle.js';
import { cleanedOutput, cleanupSummaryMarkdown } from '../report/cleanup.js';
import { failureMessage, RunReport, summaryMarkdown } from '../report/summary.js';
import { systemClock, type Clock, type Logger, type Runtime } from '../lib/runtime.js';
import { installSignalHandlers } from './signals.js';
import {
  createHostKeyVerifier as realCreateHostKeyVerifier,
  deployOverSsh,
  waitForSsh,
  type HostKeyVerifier,
} from '../ssh/index.js';
import { InstanceRegistry } from '../phases/instance-registry.js';
import { Timeline } from '../report/timeline.js';
import { ActionVersion } from './version.js';

/** Everything the step touches outside itself; tests and the end-to-end harness replace parts. */
export interface MainDeps {
  readonly loadConfig: () => Config;
  readonly createClients: (region: string | undefined) => AwsClients;
  readonly clock: Clock;
  readonly log: Logger;
  readonly saveState: (name: string, value: string) => void;
  readonly setOutput: (name: string, value: string) => void;
  readonly exportVariable: (name: string, value: string) => void;
  readonly writeSummary: (markdown: string) => Promise<void>;
  readonly transport: SshTransport;
  readonly createHostKeyVerifier: (ssh: SshConfig) => HostKeyVerifier;
  readonly runCleanup: typeof realRunCleanup;
  readonly waitIdle: typeof realWaitIdle;
  /** undefined: the defaults scaled by the config's poll scale (ASG_ROLLING_POLL_SCALE). */
  readonly pollIntervals: PollIntervals | undefined;
  /** Signal handlers are process-wide: installed by the action, not by tests. */
  readonly installSignals: boolean;
}

function defaultDeps(): MainDeps {
  return {
    loadConfig,
    createClients: (region) => createSdkClients({ region, version: ActionVersion }),
    clock: systemClock,
    log: createLogger(),
    saveState: (name, value) => core.saveState(name, value),
    setOutput: (name, value) => core.setOutput(name, value),
    exportVariable: (name, value) => core.exportVariable(name, value),
    writeSummary: async (markdown) => {
      await core.summary.addRaw(markdown).write();
    },
    transport: { waitForSsh, deployOverSsh },
    createHostKeyVerifier: realCreateHostKeyVerifier,
    runCleanup: realRunCleanup,
    waitIdle: realWaitIdle,
    pollIntervals: undefined,
    installSignals: true,
  };
}

/** What one run accumulates for its outputs and summary. */
interface RunState {
  readonly config: Config;
  readonly deps: MainDeps;
  readonly rt: Runtime;
  readonly intervals: PollIntervals;
  readonly region: string;
  readonly registry: InstanceRegistry;
  readonly report: RunReport;
  readonly timeline: Timeline;
  readonly sections: string[];
  readonly errors: string[];
}

/** The main step. Throws (for the entry to report) naming every failed group and its cause. */
export async function run(overrides: Partial<MainDeps> = {}): Promise<void> {
  const deps: MainDeps = { ...defaultDeps(), ...overrides };
  const config = deps.loadConfig();
  const clients = deps.createClients(config.region);
  const controller = new AbortController();
  const rt: Runtime = { ...clients, clock: deps.clock, log: deps.log, signal: controller.signal };
  const region = await resolveRegion(clients);
  deps.saveState(State.Region, region);
  deps.saveState(State.KeepInstances, String(config.keepInstances));
  const state: RunState = {
    config,
    deps,
    rt,
    intervals: deps.pollIntervals ?? scalePollIntervals(DefaultPollIntervals, config.run.pollScale),
    region,
    registry: new InstanceRegistry(deps.saveState),
    report: new RunReport(),
    timeline: new Timeline(deps.clock),
    sections: [],
    errors: [],
  };
  const uninstall = deps.installSignals
    ? installSignalHandlers({
        controller,
        pendingInstances: () => state.registry.pending(),
        terminate: (ids) => terminateInstances(clients.ec2, ids, rt.log),
        keepInstances: config.keepInstances,
        log: rt.log,
        exit: (code) => process.exit(code),
      })
    : () => undefined;
  try {
    await dispatch(state);
  } catch (error) {
    state.errors.push(errorMessage(error));
    throw error;
  } finally {
    uninstall();
    await finish(state);
  }
  const message = failureMessage(state.report);
  if (message) throw new Error(message);
}

async function dispatch(state: RunState): Promise<void> {
  const { config, rt, deps } = state;
  switch (config.command) {
    case 'deploy':
    case 'setup':
    case 'finalize':
      return deployCommand(config.command, state);
    case 'refresh': {
      const groups = await selectedNames(state);
      return refreshGroups(groups, {
        ctx: pipelineContext(state),
        report: state.report,
        limiter: createLimiter(config.maxParallel),
      });
    }
    case 'cleanup': {
      // Cleanup describes the groups itself; this only refuses a selection that matches nothing.
      await selectedNames(state);
      const report = await cleanup(state);
      if (report.failures.length > 0) {
        throw new Error(
          `Cleanup could not delete ${report.failures.length} item(s): ` +
            report.failures.map((f) => `${f.kind} ${f.id}: ${f.error}`).join('; '),
        );
      }
      return;
    }
    case 'wait-idle': {
      const groups = await selectedNames(state);
      return deps.waitIdle(
        { groups, timeoutSeconds: config.roll.timeoutSeconds, pollMs: state.intervals.refreshMs },
        rt,
      );
    }
  }
}

/** The names of the selected groups; throws when the selection matches none. */
async function selectedNames(state: RunState): Promise<string[]> {
  const groups = await findSelectedGroups(state.config.selection, state.rt);
  return groups.map((g) => g.AutoScalingGroupName ?? '');
}

function pipelineContext(state: RunState): PipelineContext {
  return {
    config: state.config,
    rt: state.rt,
    registry: state.registry,
    pollers: createPollers(state.rt, state.intervals),
    timeline: state.timeline,
    actionVersion: ActionVersion,
    intervals: state.intervals,
  };
}

/** deploy, setup and finalize: plan, print the plan, run the pipelines, then hand over or clean up. */
async function deployCommand(mode: PipelineMode, state: RunState): Promise<void> {
  const { config, rt, deps, report } = state;
  let plan = await discover(config.selection, rt);
  let instances;
  if (mode === 'finalize') {
    if (!config.setupResult) throw new Error('finalize needs the result of an earlier setup step');
    ({ plan, instances } = planForSetup(plan, config.setupResult));
  }
  core.startGroup('Plan');
  rt.log.info(formatPlan(plan));
  core.endGroup();
  for (const warning of plan.warnings) rt.log.child(warning.group).warning(warning.error);
  await runPipelines(plan, {
    mode,
    ctx: pipelineContext(state),
    report,
    limiter: createLimiter(config.maxParallel),
    transport: deps.transport,
    ...(mode === 'deploy' ? { hostKeys: deps.createHostKeyVerifier(config.ssh) } : {}),
    ...(instances ? { instances } : {}),
  });
  if (mode === 'setup') {
    if (report.instances.length > 0) {
      deps.exportVariable(
        SetupResultVariable,
        encodeSetupResult({
          runId: config.run.runId,
          region: state.region,
          images: report.instances.map((i) => ({
            sourceImageId: i.imageId,
            instanceId: i.instanceId,
            address: i.address,
            groups: [...i.groups],
          })),
        }),
      );
    }
    return;
  }
  if (rt.signal.aborted) return;
  try {
    await cleanup(state);
  } catch (error) {
    rt.log.warning(`Cleanup after the roll failed (the deploy itself is done): ${errorMessage(error)}`);
  }
}

async function cleanup(state: RunState): Promise<CleanupReport> {
  const { config } = state;
  const report = await state.deps.runCleanup(
    {
      selection: config.selection,
      keep: config.cleanup.keep,
      orphanAgeMinutes: config.cleanup.orphanAgeMinutes,
      dryRun: config.cleanup.dryRun,
      runId: config.run.runId,
    },
    state.rt,
  );
  state.deps.setOutput(Outputs.Cleaned, JSON.stringify(cleanedOutput(report)));
  state.sections.push(cleanupSummaryMarkdown(report));
  for (const failure of report.failures)
    state.rt.log.warning(`Cleanup: ${failure.kind} ${failure.id}: ${failure.error}`);
  return report;
}

/** Outputs, annotations and the job summary: written whatever happened, so a failed run explains itself. */
async function finish(state: RunState): Promise<void> {
  const { deps, report, rt, config } = state;
  if (config.command !== 'cleanup' && config.command !== 'wait-idle') {
    for (const [name, value] of Object.entries(report.outputs())) deps.setOutput(name, value);
  }
  for (const failure of report.failures()) rt.log.child(failure.group).error(failure.error);
  try {
    await deps.writeSummary(
      summaryMarkdown(report, {
        title: `asg-rolling ${config.command}`,
        region: state.region,
        spans: state.timeline.spans,
        sections: state.sections,
        errors: state.errors,
      }),
    );
  } catch (error) {
    rt.log.warning(`Could not write the job summary: ${errorMessage(error)}`);
  }
}

async function resolveRegion(clients: AwsClients): Promise<string> {
  try {
    return await clients.ec2.config.region();
  } catch {
    return '';
  }
}
