/**
 * The post step (runs at the end of the job, `post-if: always()`): terminate whatever temporary
 * instance the main step left behind and remove the key file. Cleanup failing must never fail the
 * job, so everything here ends in a warning at worst.
 */
import { rm } from 'node:fs/promises';
import * as core from '@actions/core';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { createClients } from './aws/clients.js';
import { terminateInstances } from './aws/instances.js';
import { State } from './constants.js';
import { errorMessage } from './errors.js';
import { createLogger } from './log.js';
import type { Logger } from './runtime.js';
import { parseInstanceIds } from './state.js';
import { ActionVersion } from './version.js';

export interface PostDeps {
  readonly getState: (name: string) => string;
  readonly ec2: (region: string | undefined) => EC2Client;
  readonly removeFile: (path: string) => Promise<void>;
  readonly log: Logger;
}

/** Terminates the instances saved in state (unless kept) and removes the key file; never throws. */
export async function runPost(deps: PostDeps): Promise<void> {
  const keyFile = deps.getState(State.KeyFile);
  if (keyFile) {
    try {
      await deps.removeFile(keyFile);
    } catch (error) {
      deps.log.warning(`Could not remove the key file: ${errorMessage(error)}`);
    }
  }
  const ids = parseInstanceIds(deps.getState(State.TemporaryInstances));
  if (ids.length === 0) {
    deps.log.info('No temporary instances to clean up');
    return;
  }
  if (deps.getState(State.KeepInstances) === 'true') {
    deps.log.warning(
      `Keeping temporary instance(s) ${ids.join(', ')} (keep-instances: true); cleanup finds them by their tags`,
    );
    return;
  }
  try {
    await terminateInstances(deps.ec2(deps.getState(State.Region) || undefined), ids, deps.log);
    deps.log.info(`Terminated temporary instance(s) ${ids.join(', ')}`);
  } catch (error) {
    deps.log.warning(`Could not clean up the temporary instances: ${errorMessage(error)}`);
  }
}

/** The post entry's work with the real state, clients and file system. */
export async function run(): Promise<void> {
  await runPost({
    getState: (name) => core.getState(name),
    ec2: (region) => createClients({ region, version: ActionVersion }).ec2,
    removeFile: (path) => rm(path, { force: true }),
    log: createLogger(),
  });
}
