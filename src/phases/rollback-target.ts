/**
 * Pure: the image `rollback` returns a group to, or why it cannot. A group rolls back only from a
 * launch template version we made (anything else is someone else's change, which we must not undo
 * blindly), and only to an image that still exists and is available.
 * - `previous`: the image the group ran before our latest version. A rollback version names it in
 *   its description (so a second rollback goes forward again); a deploy's AMI names it in its
 *   source-image tag, since every bake starts from the image the groups run.
 * - a commit: the newest available AMI of ours from that commit made for the group's template (or,
 *   when the tag was cut at AWS's length limit, for the group by name).
 * - an AMI id: that image, whoever owns it.
 */
import type { Image } from '@aws-sdk/client-ec2';
import { isOurVersionDescription, rolledBackFrom, Tags, TruncatedTagMarker } from '../aws/tags.js';
import type { RollbackTarget } from '../config/index.js';
import type { PlannedGroup } from './plan.js';

export type TargetChoice = { readonly imageId: string; readonly why: string } | { readonly error: string };

const tagOf = (image: Image | undefined, key: string): string | undefined =>
  image?.Tags?.find((t) => t.Key === key)?.Value;

const listTag = (image: Image, key: string): string[] =>
  (tagOf(image, key) ?? '').split(',').filter((item) => item !== '' && item !== TruncatedTagMarker);

/** Why the group's current version is not ours, or undefined when it is. */
export function notOurVersion(group: PlannedGroup): string | undefined {
  if (isOurVersionDescription(group.versionDescription)) return undefined;
  return (
    `its launch template ${group.launchTemplateId} version ${group.version} was not made by asg-rolling ` +
    `(description ${JSON.stringify(group.versionDescription)}): rollback only undoes versions it made; ` +
    'deploy or refresh instead'
  );
}

/**
 * The image to look up for `previous`, before its state is known: named by a rollback version's
 * description, else by the source-image tag of the AMI the group runs.
 */
export function previousImageOf(
  group: PlannedGroup,
  current: Image | undefined,
): { readonly imageId: string } | { readonly error: string } {
  const named = rolledBackFrom(group.versionDescription);
  if (named) return { imageId: named };
  const source = tagOf(current, Tags.Managed) === 'true' ? tagOf(current, Tags.SourceImage) : undefined;
  if (source) return { imageId: source };
  return {
    error:
      `what ran before ${group.sourceImageId} is unknown (it is not an AMI of ours with a ${Tags.SourceImage} tag, or it is gone); ` +
      'give rollback-to a commit SHA or an AMI id',
  };
}

/** The newest of our AMIs of one commit made for the group's template (or the group, by name). */
export function commitImageOf(
  group: PlannedGroup,
  commit: string,
  amis: readonly Image[],
): Image | undefined {
  const forGroup = amis.filter(
    (image) =>
      (tagOf(image, Tags.Commit) ?? '').startsWith(commit) &&
      (listTag(image, Tags.LaunchTemplates).includes(group.launchTemplateId) ||
        listTag(image, Tags.Groups).includes(group.name)),
  );
  return forGroup.sort(
    (a, b) =>
      (b.CreationDate ?? '').localeCompare(a.CreationDate ?? '') ||
      (b.ImageId ?? '').localeCompare(a.ImageId ?? ''),
  )[0];
}

/** What every "gone" error adds: why an image of ours may no longer exist, and what to do. */
export function goneHint(keep: number): string {
  return (
    `cleanup keeps only the cleanup-keep (${keep}) newest of our AMIs per launch template, and every image in use; ` +
    'raise cleanup-keep to keep more rollback targets, or give rollback-to a commit SHA or an AMI id that still exists'
  );
}

export interface TargetFacts {
  /** Images by id as described now (any owner); an image that no longer exists is absent. */
  readonly images: ReadonlyMap<string, Image>;
  /** For a commit target: our available AMIs whose commit tag starts with it. */
  readonly commitAmis: readonly Image[];
  /** cleanup-keep, for the hint of a missing image. */
  readonly keep: number;
}

/** The image the group returns to, or the reason it cannot roll back. */
export function chooseRollbackTarget(
  group: PlannedGroup,
  target: RollbackTarget,
  facts: TargetFacts,
): TargetChoice {
  const notOurs = notOurVersion(group);
  if (notOurs) return { error: notOurs };
  let imageId: string;
  let why: string;
  if (target.kind === 'previous') {
    const previous = previousImageOf(group, facts.images.get(group.sourceImageId));
    if ('error' in previous) return previous;
    imageId = previous.imageId;
    why = `the image it ran before ${group.sourceImageId}`;
  } else if (target.kind === 'commit') {
    const found = commitImageOf(group, target.commit, facts.commitAmis);
    if (!found?.ImageId) {
      return {
        error:
          `no available AMI of ours from commit ${target.commit} was made for launch template ${group.launchTemplateId}: ` +
          `none was baked for it, or it is gone (${goneHint(facts.keep)})`,
      };
    }
    imageId = found.ImageId;
    why = `baked from commit ${tagOf(found, Tags.Commit) ?? target.commit} by run ${tagOf(found, Tags.RunId) ?? '?'}`;
  } else {
    imageId = target.imageId;
    why = 'as given';
  }
  const image = facts.images.get(imageId);
  if (!image)
    return { error: `its rollback target ${imageId} is gone (deregistered); ${goneHint(facts.keep)}` };
  if (image.State !== 'available')
    return {
      error: `its rollback target ${imageId} is ${image.State ?? 'in an unknown state'}, not available`,
    };
  return { imageId, why };
}
