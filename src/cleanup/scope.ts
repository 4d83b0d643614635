/**
 * Which of our resources a cleanup of the selected groups may touch. Our tags list the groups and
 * templates a resource was made for, but AWS cuts tag values at 256 characters: a cut list ends with
 * a marker, and then the image lineage of the selected groups decides instead of the missing names.
 */
import { Tags, TruncatedTagMarker } from '../aws/tags.js';
import type { Inventory } from './types.js';
import type { ImageInfo } from '../aws/resources.js';

/** What the selection covers. */
export interface Scope {
  groups: ReadonlySet<string>;
  templates: ReadonlySet<string>;
  /**
   * The images the selected groups use now and, through the source-image tags of our AMIs, the AMIs
   * those were baked from: a resource whose tag list was cut is in scope when it belongs to this line.
   */
  images: ReadonlySet<string>;
}

/** Splits a comma-separated tag value (Groups, LaunchTemplates) into its names, without the cut marker. */
export function tagList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0 && part !== TruncatedTagMarker);
}

/** Whether a tag list was cut at AWS's limit, so names may be missing from it. */
export function isTruncated(value: string | undefined): boolean {
  return (value ?? '').endsWith(TruncatedTagMarker);
}

/**
 * The scope of the selection: its groups, their templates, and the image line they are on (each
 * selected image, then the source image of each of our AMIs on the line, back to the first bake).
 */
export function selectionScope(
  inventory: Pick<Inventory, 'selectedGroups' | 'scopedTemplateIds' | 'selectedImages' | 'images'>,
): Scope {
  const sources = new Map<string, string>(
    inventory.images.map((image: ImageInfo) => [image.id, image.tags[Tags.SourceImage] ?? '']),
  );
  const images = new Set<string>();
  const queue = [...inventory.selectedImages];
  for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
    if (!id || images.has(id)) continue;
    images.add(id);
    // Only our own AMIs lead further back: a shared base image must not pull in other apps' AMIs.
    const source = sources.get(id);
    if (source && sources.has(source)) queue.push(source);
  }
  return {
    groups: new Set(inventory.selectedGroups),
    templates: new Set(inventory.scopedTemplateIds),
    images,
  };
}

/**
 * Whether a resource of ours belongs to the selection: its LaunchTemplates or Groups tag names a
 * scoped template or a selected group, or one of those lists was cut and the resource (by `id`, or
 * its source image) is on the selected groups' image line.
 */
export function inScope(tags: Readonly<Record<string, string>>, scope: Scope, id?: string): boolean {
  const templates = tags[Tags.LaunchTemplates];
  const groups = tags[Tags.Groups];
  if (tagList(templates).some((t) => scope.templates.has(t))) return true;
  if (tagList(groups).some((g) => scope.groups.has(g))) return true;
  if (!isTruncated(templates) && !isTruncated(groups)) return false;
  return (id !== undefined && scope.images.has(id)) || scope.images.has(tags[Tags.SourceImage] ?? '');
}
