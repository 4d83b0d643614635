// EC2's side of Systems Manager parameters: a launch template (or RunInstances) may name its image
// `resolve:ssm:<parameter>`, and EC2 reads the AMI id the parameter holds at each launch. Only that
// resolution is simulated (the store is seeded by fixtures or set by tests; there is no SSM API).
import { SimError } from './errors.js';
import type { World } from './world.js';

export const SsmImagePrefix = 'resolve:ssm:';

export const isSsmImage = (imageId: string | undefined): boolean =>
  imageId?.startsWith(SsmImagePrefix) ?? false;

/**
 * The AMI id an image reference launches now: an AMI id as it is, a parameter reference
 * (`resolve:ssm:name`, also `name:version` or `name:label`, which name the same value here) by the
 * parameter's current value.
 */
export function resolveImageId(world: World, imageId: string): string {
  if (!isSsmImage(imageId)) return imageId;
  const reference = imageId.slice(SsmImagePrefix.length);
  const parameters = world.state.parameters;
  const value = parameters.get(reference) ?? parameters.get(reference.replace(/:[^:/]+$/, ''));
  if (value === undefined) {
    throw new SimError(
      'InvalidParameterValue',
      `Invalid value '${imageId}' for imageId: the Systems Manager parameter does not exist or is not an AMI id`,
    );
  }
  return value;
}
