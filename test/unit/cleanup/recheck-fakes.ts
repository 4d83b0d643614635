/** Stand-ins for the reads cleanup runs again before each destructive step. */
import type { InUse, Recheck } from '../../../src/cleanup/recheck.js';

/** Every read finds nothing newly in use. */
export const nothingInUse: Recheck = {
  versionsInUse: () => Promise.resolve(new Map()),
  imagesInUse: () => Promise.resolve(new Map()),
  snapshotsInUse: () => Promise.resolve(new Map()),
};

/** A recheck whose reads answer the given uses and record what they were asked. */
export function recheckFinding(found: {
  versions?: Record<string, string>;
  images?: Record<string, string>;
  snapshots?: Record<string, string>;
}): Recheck & { asked: { images: [string[], Map<string, string>][]; snapshots: [string[], Set<string>][] } } {
  const asked = {
    images: [] as [string[], Map<string, string>][],
    snapshots: [] as [string[], Set<string>][],
  };
  const only = (ids: readonly string[], all: Record<string, string> = {}): InUse =>
    new Map(Object.entries(all).filter(([id]) => ids.includes(id)));
  return {
    asked,
    versionsInUse: () => Promise.resolve(new Map(Object.entries(found.versions ?? {}))),
    imagesInUse: (ids, versionImages) => {
      asked.images.push([[...ids], new Map(versionImages)]);
      return Promise.resolve(only(ids, found.images));
    },
    snapshotsInUse: (ids, deregistered) => {
      asked.snapshots.push([[...ids], new Set(deregistered)]);
      return Promise.resolve(only(ids, found.snapshots));
    },
  };
}
