/**
 * The post step (runs at the end of the job, `post-if: always()`): terminate whatever temporary
 * instance the main step left behind. (There is no key file to remove: the SSH key is only ever held
 * in memory.) A temporary instance left running costs money until someone notices, so an instance
 * the step knows of but cannot terminate fails the step, naming its id; everything else (nothing
 * to do, instances already gone) ends quietly.
 */
import * as core from '@actions/core';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { createClients } from '../aws/clients.js';
import { findLiveInstancesByTag, terminateInstances } from '../aws/instances.js';
import { readPollScale } from '../config/index.js';
import { State } from '../lib/constants.js';
import { Tags } from '../aws/tags.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger } from './log.js';
import { systemClock, type Clock, type Logger } from '../lib/runtime.js';
import { parseInstanceIds } from '../phases/instance-registry.js';
import { ActionVersion } from './version.js';

export interface PostDeps {
  readonly getState: (name: string) => string;
  readonly ec2: (region: string | undefined) => EC2Client;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Multiplies the search window and its pauses (a simulator's time runs faster); 1 against AWS. */
  readonly pollScale?: number;
}

/**
 * How long the post step keeps looking for the instances of a launch the main step never heard
 * back from. AWS may carry out a RunInstances whose caller was killed well after the kill (a slow
 * answer, the SDK's retries with the same client token), and right after a launch DescribeInstances
 * may not list the instance yet: a single look finds nothing and leaves it running.
 */
export const LaunchSearchWindowMs = 180_000;
/** The first pause between two looks; each next pause doubles, up to LaunchSearchMaxPauseMs. */
const LaunchSearchFirstPauseMs = 2_000;
const LaunchSearchMaxPauseMs = 30_000;

/** Terminates the instances saved in state (unless kept); throws when one may be left running. */
export async function runPost(deps: PostDeps): Promise<void> {
  const saved = parseInstanceIds(deps.getState(State.TemporaryInstances));
  const launchToken = deps.getState(State.LaunchToken);
  if (saved.length === 0 && !launchToken) {
    deps.log.info('No temporary instances to clean up');
    return;
  }
  if (deps.getState(State.KeepInstances) === 'true') {
    deps.log.warning(
      `Keeping temporary instance(s) ${saved.join(', ') || 'of this step'} (keep-instances: true); cleanup finds them by their tags`,
    );
    return;
  }
  const ec2 = deps.ec2(deps.getState(State.Region) || undefined);
  let unheard: string[] = [];
  let searchError: unknown;
  try {
    if (launchToken) unheard = await launchedUnheard({ ...deps, ec2, launchToken, saved });
  } catch (error) {
    // The saved instances still go; the failed search fails the step afterwards.
    searchError = error;
  }
  const ids = [...saved, ...unheard];
  if (ids.length > 0) {
    try {
      await terminateInstances(ec2, ids, deps.log);
    } catch (error) {
      throw new Error(
        `Temporary instance(s) ${ids.join(', ')} may still be running (and costing money): terminate them by hand. ${errorMessage(error)}`,
        { cause: error },
      );
    }
    deps.log.info(`Terminated temporary instance(s) ${ids.join(', ')}`);
  }
  if (searchError !== undefined) throw searchError;
  if (ids.length === 0) deps.log.info('No temporary instances to clean up');
}

/**
 * Instances of a launch the main step never heard back from (cancelled or killed while RunInstances
 * was on its way): found by the step's launch token tag, since their ids were never saved. Looks
 * again with growing pauses until it has found some and a further look finds no more, or the window
 * is over; throws when it cannot look at all, since then nobody knows whether one is running.
 */
async function launchedUnheard(options: {
  readonly ec2: EC2Client;
  readonly launchToken: string;
  readonly saved: readonly string[];
  readonly log: Logger;
  readonly clock?: Clock;
  readonly pollScale?: number;
}): Promise<string[]> {
  const { ec2, launchToken, saved, log } = options;
  const clock = options.clock ?? systemClock;
  const scale = options.pollScale ?? 1;
  const deadline = clock.now() + LaunchSearchWindowMs * scale;
  let pause = LaunchSearchFirstPauseMs * scale;
  let found: string[] = [];
  for (;;) {
    const now = await lookByToken(ec2, launchToken, saved);
    const grew = now.some((id) => !found.includes(id));
    found = [...new Set([...found, ...now])];
    if (found.length > 0 && !grew) break;
    if (clock.now() + pause > deadline) break;
    if (found.length === 0)
      log.info(`No instance with launch token ${launchToken} yet; looking again in ${Math.round(pause)} ms`);
    await clock.sleep(pause);
    pause = Math.min(pause * 2, LaunchSearchMaxPauseMs * scale);
  }
  if (found.length > 0)
    log.info(
      `Found temporary instance(s) ${found.join(', ')} whose launch the main step never heard back from`,
    );
  else log.info(`No instance with launch token ${launchToken} appeared: nothing was launched`);
  return found;
}

async function lookByToken(ec2: EC2Client, launchToken: string, saved: readonly string[]): Promise<string[]> {
  try {
    const found = await findLiveInstancesByTag(ec2, { key: Tags.LaunchToken, value: launchToken });
    return found.filter((id) => !saved.includes(id));
  } catch (error) {
    throw new Error(
      `Could not look for temporary instances tagged ${Tags.LaunchToken}=${launchToken} (a launch was in flight, so one may be running and costing money): ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

/** The post entry's work with the real state, clients and file system. */
export async function run(): Promise<void> {
  await runPost({
    getState: (name) => core.getState(name),
    ec2: (region) => createClients({ region, version: ActionVersion }).ec2,
    log: createLogger(),
    pollScale: readPollScale(),
  });
}
