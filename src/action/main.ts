/**
 * The main step, wiring only: config → runtime → the command → outputs and job summary. What a
 * command does is in commands/; the dependencies are injectable so the whole step can run against
 * fakes or the simulator.
 */
import * as core from '@actions/core';
import { createClients as createSdkClients, type AwsClients, type Runtime } from '../aws/clients.js';
import { credentialsExpiration, expirationWarning } from '../aws/credentials.js';
import { terminateInstances } from '../aws/instances.js';
import { runCleanup } from '../cleanup/index.js';
import { runCommand, type CommandContext, type CommandDeps } from '../commands/index.js';
import { waitIdle } from '../commands/wait-idle.js';
import { loadConfig, type Config } from '../config/index.js';
import { State } from '../lib/constants.js';
import { errorMessage } from '../lib/errors.js';
import { systemClock, type Clock, type Logger } from '../lib/runtime.js';
import { DefaultPollIntervals, scalePollIntervals } from '../phases/context.js';
import { InstanceRegistry } from '../phases/instance-registry.js';
import { failureMessage, RunReport, summaryMarkdown } from '../report/summary.js';
import { finalStatus, GithubDeployment, type FinalState } from '../report/github-deployment.js';
import { Timeline } from '../report/timeline.js';
import { createHostKeyVerifier, deployOverSsh, waitForSsh } from '../ssh/index.js';
import { createLogger, redactingLogger, redactor } from './log.js';
import { installSignalHandlers } from './signals.js';
import { ActionVersion } from './version.js';

/** Everything the step touches outside itself; tests and the end-to-end harness replace parts. */
export interface MainDeps extends CommandDeps {
  readonly loadConfig: () => Config;
  readonly createClients: (region: string | undefined) => AwsClients;
  readonly clock: Clock;
  readonly log: Logger;
  readonly saveState: (name: string, value: string) => void;
  readonly writeSummary: (markdown: string) => Promise<void>;
  /** Creates the GitHub deployment record and its in_progress status. */
  readonly startDeployment: (config: Config, log: Logger) => Promise<GithubDeployment>;
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
    createHostKeyVerifier,
    runCleanup,
    waitIdle,
    startDeployment: (config, log) => GithubDeployment.start(config, log),
    installSignals: true,
  };
}

/** The main step. Throws (for the entry to report) naming every failed group and its cause. */
export async function run(overrides: Partial<MainDeps> = {}): Promise<void> {
  const deps: MainDeps = { ...defaultDeps(), ...overrides };
  const config = deps.loadConfig();
  const clients = deps.createClients(config.region);
  const controller = new AbortController();
  const redact = redactor(Object.values(config.deploy.env));
  const log = redactingLogger(deps.log, redact);
  const rt: Runtime = { ...clients, clock: deps.clock, log, signal: controller.signal };
  const region = await resolveRegion(clients);
  deps.saveState(State.Region, region);
  deps.saveState(State.KeepInstances, String(config.keepInstances));
  const expiring = expirationWarning(config, await credentialsExpiration(clients.ec2), deps.clock.now());
  if (expiring) rt.log.warning(expiring);
  const ctx: CommandContext = {
    config,
    rt,
    region,
    intervals: scalePollIntervals(DefaultPollIntervals, config.run.pollScale),
    registry: new InstanceRegistry(deps.saveState),
    report: new RunReport(),
    timeline: new Timeline(deps.clock),
    sections: [],
    actionVersion: ActionVersion,
    deps,
  };
  const errors: string[] = [];
  const uninstall = deps.installSignals
    ? installSignalHandlers({
        controller,
        pendingInstances: () => ctx.registry.pending(),
        terminate: (ids) => terminateInstances(clients.ec2, ids, rt.log),
        keepInstances: config.keepInstances,
        log: rt.log,
        exit: (code) => process.exit(code),
      })
    : () => undefined;
  let deployment: GithubDeployment | undefined;
  try {
    if (config.github.enabled) deployment = await deps.startDeployment(config, rt.log);
    await runCommand(ctx);
  } catch (error) {
    errors.push(errorMessage(error));
    throw new Error(redact(errorMessage(error)), { cause: error });
  } finally {
    uninstall();
    await finish(ctx, deps, { errors, redact });
    await deployment?.finish(...finalOf(ctx, errors, redact));
  }
  const message = failureMessage(ctx.report);
  if (message) throw new Error(redact(message));
}

/** Outputs, annotations and the job summary: written whatever happened, so a failed run explains itself. */
async function finish(
  ctx: CommandContext,
  deps: MainDeps,
  options: { readonly errors: readonly string[]; readonly redact: (text: string) => string },
): Promise<void> {
  const { report, rt, config } = ctx;
  if (config.command !== 'cleanup' && config.command !== 'wait-idle') {
    for (const [name, value] of Object.entries(report.outputs())) deps.setOutput(name, value);
  }
  for (const failure of report.failures()) rt.log.child(failure.group).error(failure.error);
  try {
    await deps.writeSummary(
      options.redact(
        summaryMarkdown(report, {
          title: `asg-rolling ${config.command}`,
          region: ctx.region,
          spans: ctx.timeline.spans,
          sections: ctx.sections,
          errors: options.errors,
        }),
      ),
    );
  } catch (error) {
    rt.log.warning(`Could not write the job summary: ${errorMessage(error)}`);
  }
}

function finalOf(
  ctx: CommandContext,
  errors: readonly string[],
  redact: (text: string) => string,
): [FinalState, string] {
  const { state, description } = finalStatus({
    command: ctx.config.command,
    dryRun: ctx.config.dryRun,
    groups: ctx.report.groups().length,
    failures: ctx.report.failures(),
    errors,
  });
  return [state, redact(description)];
}

async function resolveRegion(clients: AwsClients): Promise<string> {
  try {
    return await clients.ec2.config.region();
  } catch {
    return '';
  }
}
