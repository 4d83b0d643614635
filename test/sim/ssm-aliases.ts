// Sets the Systems Manager parameters that `resolve:ssm:` image references read (parameters.ts):
// tests that move a parameter, as an AMI pipeline publishing a new golden image would.
import type { World } from './world.js';

/** Sets (or, with undefined, removes) a parameter whose value is an AMI id. */
export function setImageParameter(world: World, name: string, imageId: string | undefined): void {
  if (imageId === undefined) world.state.parameters.delete(name);
  else world.state.parameters.set(name, imageId);
}
