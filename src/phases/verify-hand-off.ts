/**
 * `finalize` acts on instances named by the job's environment (ASG_ROLLING_SETUP), which any earlier
 * step of the job can write: the user's own deploy tool too. So before anything is stopped, imaged
 * or terminated, every handed-over instance is checked against AWS: it must be one of our
 * temporary instances, launched by this very run from the image the plan expects. A hand-off that
 * fails any check touches nothing.
 */
import type { EC2Client, Instance } from '@aws-sdk/client-ec2';
import { describeInstances } from '../aws/instances.js';
import { Roles, Tags } from '../aws/tags.js';
import { SetupResultVariable, type SetupResult } from '../config/hand-off.js';

const UsableStates = new Set(['pending', 'running', 'stopping', 'stopped']);

/** Why one handed-over instance may not be used, or undefined when it may. */
export function handOffProblem(
  handed: { readonly instanceId: string; readonly sourceImageId: string },
  found: Instance | undefined,
  runId: string,
): string | undefined {
  if (!found) return 'does not exist';
  const state = found.State?.Name ?? 'unknown';
  if (!UsableStates.has(state)) return `is ${state}`;
  const tags = new Map((found.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  if (tags.get(Tags.Managed) !== 'true' || tags.get(Tags.Role) !== Roles.TemporaryInstance)
    return `is not one of our temporary instances (it lacks ${Tags.Managed}=true and ${Tags.Role}=${Roles.TemporaryInstance})`;
  if (tags.get(Tags.RunId) !== runId)
    return `was launched by run ${JSON.stringify(tags.get(Tags.RunId) ?? '')}, not by this run (${runId})`;
  if (tags.get(Tags.SourceImage) !== handed.sourceImageId || found.ImageId !== handed.sourceImageId)
    return `runs ${found.ImageId ?? 'no image'}, not the source image ${handed.sourceImageId} the hand-off names`;
  return undefined;
}

/** Throws, naming every instance and why, unless the whole hand-off belongs to this run. */
export async function verifyHandOff(
  setup: SetupResult,
  options: { readonly runId: string; readonly ec2: EC2Client },
): Promise<void> {
  if (setup.runId !== options.runId) {
    throw new Error(
      `${SetupResultVariable} was written by run ${JSON.stringify(setup.runId)}, not by this run (${options.runId}): ` +
        'finalize only takes the instances of a setup step of the same job, and touched nothing',
    );
  }
  const found = await describeInstances(
    options.ec2,
    setup.images.map((i) => i.instanceId),
  );
  const problems = setup.images.flatMap((handed) => {
    const problem = handOffProblem(handed, found.get(handed.instanceId), options.runId);
    return problem ? [`instance ${handed.instanceId} ${problem}`] : [];
  });
  if (problems.length > 0) {
    throw new Error(
      `${SetupResultVariable} names instances finalize may not use, so it touched nothing: ${problems.join('; ')}`,
    );
  }
}
