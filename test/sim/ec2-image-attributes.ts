// Launch permissions of AMIs: ModifyImageAttribute shares an image with accounts, organizations or
// everyone (`Group: all`), DescribeImageAttribute lists who may launch it, and DescribeImages'
// `Public` says whether everyone may. Modelled after
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyImageAttribute.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImageAttribute.html and
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchPermission.html.
import type {
  DescribeImageAttributeRequest,
  ImageAttribute,
  LaunchPermission,
  ModifyImageAttributeRequest,
} from '@aws-sdk/client-ec2';

import { getImage } from './ec2-images.js';
import { SimError, invalidParam } from './errors.js';
import { op, type Handler } from './handler.js';
import type { World } from './world.js';

/** Attribute names DescribeImageAttribute accepts whose value the simulator keeps. */
const Described = new Set(['launchPermission', 'description']);

const key = (p: LaunchPermission): string =>
  JSON.stringify([p.UserId ?? '', p.Group ?? '', p.OrganizationArn ?? '', p.OrganizationalUnitArn ?? '']);

function permissionsOf(world: World, imageId: string): LaunchPermission[] {
  let list = world.state.launchPermissions.get(imageId);
  if (!list) world.state.launchPermissions.set(imageId, (list = []));
  return list;
}

function validate(world: World, permission: LaunchPermission): void {
  if (permission.Group !== undefined && permission.Group !== 'all')
    throw invalidParam(`Invalid value '${permission.Group}' for group. Expecting 'all'.`);
  if (permission.UserId !== undefined && !/^\d{12}$/.test(permission.UserId))
    throw invalidParam(`Invalid user id: '${permission.UserId}'`);
  if (permission.UserId === world.state.accountId)
    throw invalidParam('You cannot share an image with its owner.');
}

const modifyImageAttribute = op((input: ModifyImageAttributeRequest, world: World): void => {
  const image = getImage(world, input.ImageId ?? '');
  const imageId = image.ImageId ?? '';
  if (input.Description?.Value !== undefined) {
    image.Description = input.Description.Value;
    return;
  }
  const add: LaunchPermission[] = [...(input.LaunchPermission?.Add ?? [])];
  const remove: LaunchPermission[] = [...(input.LaunchPermission?.Remove ?? [])];
  // The flat form: Attribute=launchPermission, OperationType=add|remove, UserIds / UserGroups.
  if (input.Attribute === 'launchPermission') {
    const flat = [
      ...(input.UserIds ?? []).map((UserId) => ({ UserId })),
      ...(input.UserGroups ?? []).map((Group) => ({ Group: Group as LaunchPermission['Group'] })),
      ...(input.OrganizationArns ?? []).map((OrganizationArn) => ({ OrganizationArn })),
      ...(input.OrganizationalUnitArns ?? []).map((OrganizationalUnitArn) => ({ OrganizationalUnitArn })),
    ];
    if (input.OperationType === 'remove') remove.push(...flat);
    else if (input.OperationType === 'add') add.push(...flat);
    else if (flat.length)
      throw new SimError('MissingParameter', 'The request must contain the parameter OperationType');
  }
  if (!add.length && !remove.length)
    throw new SimError('MissingParameter', 'The request must contain the parameter launchPermission');
  for (const p of [...add, ...remove]) validate(world, p);
  const list = permissionsOf(world, imageId);
  for (const p of add) if (!list.some((q) => key(q) === key(p))) list.push({ ...p });
  const gone = new Set(remove.map(key));
  world.state.launchPermissions.set(
    imageId,
    list.filter((p) => !gone.has(key(p))),
  );
  image.Public = permissionsOf(world, imageId).some((p) => p.Group === 'all');
});

const describeImageAttribute = op((input: DescribeImageAttributeRequest, world: World): ImageAttribute => {
  const attribute = input.Attribute ?? '';
  if (!attribute) throw new SimError('MissingParameter', 'The request must contain the parameter attribute');
  const image = getImage(world, input.ImageId ?? '');
  // Only the owner sees who else may launch an image.
  if (image.OwnerId !== world.state.accountId)
    throw new SimError('AuthFailure', `Not authorized for image:${image.ImageId}`);
  if (!Described.has(attribute))
    throw invalidParam(`Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  if (attribute === 'description')
    return { ImageId: image.ImageId, Description: { Value: image.Description } };
  return { ImageId: image.ImageId, LaunchPermissions: [...permissionsOf(world, image.ImageId ?? '')] };
});

export const imageAttributeHandlers: Record<string, Handler> = {
  ModifyImageAttribute: modifyImageAttribute,
  DescribeImageAttribute: describeImageAttribute,
};
