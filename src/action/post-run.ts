/**
 * The post step (runs at the end of the job, `post-if: always()`): terminate whatever temporary
 * instance the main step left behind. (There is no key file to remove: the SSH key is only ever held
 * in memory.) Cleanup failing must never fail the job, so everything here ends in a warning at worst.
 */
import * as core from '@actions/core';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { createClients } from '../aws/clients.js';
import { findLiveInstancesByTag, terminateInstances } from '../aws/instances.js';
import { State } from '../lib/constants.js';
import { Tags } from '../aws/tags.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger } from './log.js';
import type { Logger } from '../lib/runtime.js';
import { parseInstanceIds } from '../phases/instance-registry.js';
import { ActionVersion } from './version.js';

export interface PostDeps {
  readonly getState: (name: string) => string;
  readonly ec2: (region: string | undefined) => EC2Client;
  readonly log: Logger;
}

/** Terminates the instances saved in state (unless kept); never throws. */
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
  const ids = [...saved, ...(await launchedUnheard({ ec2, launchToken, saved, log: deps.log }))];
  if (ids.length === 0) {
    deps.log.info('No temporary instances to clean up');
    return;
  }
  try {
    await terminateInstances(ec2, ids, deps.log);
    deps.log.info(`Terminated temporary instance(s) ${ids.join(', ')}`);
  } catch (error) {
    deps.log.warning(`Could not clean up the temporary instances: ${errorMessage(error)}`);
  }
}

/**
 * Instances of a launch the main step never heard back from (cancelled or killed while RunInstances
 * was on its way): found by the step's launch token tag, since their ids were never saved.
 */
async function launchedUnheard(options: {
  readonly ec2: EC2Client;
  readonly launchToken: string;
  readonly saved: readonly string[];
  readonly log: Logger;
}): Promise<string[]> {
  const { ec2, launchToken, saved, log } = options;
  if (!launchToken) return [];
  try {
    const found = await findLiveInstancesByTag(ec2, { key: Tags.LaunchToken, value: launchToken });
    const unheard = found.filter((id) => !saved.includes(id));
    if (unheard.length > 0)
      log.info(
        `Found temporary instance(s) ${unheard.join(', ')} whose launch the main step never heard back from`,
      );
    return unheard;
  } catch (error) {
    log.warning(`Could not look for temporary instances by their launch token: ${errorMessage(error)}`);
    return [];
  }
}

/** The post entry's work with the real state, clients and file system. */
export async function run(): Promise<void> {
  await runPost({
    getState: (name) => core.getState(name),
    ec2: (region) => createClients({ region, version: ActionVersion }).ec2,
    log: createLogger(),
  });
}
