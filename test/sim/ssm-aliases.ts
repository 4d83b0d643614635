// The one piece of Systems Manager parameters cleanup needs: a launch template version whose ImageId
// is `resolve:ssm:<name>` is described with the AMI the parameter maps to when the request sets
// ResolveAlias, and as given otherwise. Modelled after
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeLaunchTemplateVersions.html and
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ResponseLaunchTemplateData.html (imageId).
// Parameters are set by tests (no SSM service is simulated here); they live with the state, so a
// reset forgets them.
import type { LaunchTemplateVersion } from '@aws-sdk/client-ec2';

import type { State } from './state.js';
import type { World } from './world.js';

const Prefix = 'resolve:ssm:';
const parameters = new WeakMap<State, Map<string, string>>();

/** Sets (or, with undefined, removes) a parameter whose value is an AMI id. */
export function setImageParameter(world: World, name: string, imageId: string | undefined): void {
  let map = parameters.get(world.state);
  if (!map) parameters.set(world.state, (map = new Map()));
  if (imageId === undefined) map.delete(name);
  else map.set(name, imageId);
}

/** The version as DescribeLaunchTemplateVersions shows it with ResolveAlias: the alias's AMI id. */
export function withResolvedAlias(world: World, version: LaunchTemplateVersion): LaunchTemplateVersion {
  const imageId = version.LaunchTemplateData?.ImageId;
  if (!imageId?.startsWith(Prefix)) return version;
  const resolved = parameters.get(world.state)?.get(imageId.slice(Prefix.length));
  if (!resolved) return version;
  return { ...version, LaunchTemplateData: { ...version.LaunchTemplateData, ImageId: resolved } };
}
