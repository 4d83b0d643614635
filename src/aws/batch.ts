/**
 * What many AWS calls share: per-call limits force lists into batches, and "an instance that still
 * exists" is one list of states everywhere it is asked for.
 */

/** Splits a list into runs of at most `size` items, for APIs with a per-call limit. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/**
 * Every state in which an instance still exists: `shutting-down` too, since such an instance still
 * holds its image and a terminate of it is not yet done.
 */
export const LiveStates: readonly string[] = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

/** EC2 accepts at most 200 values in one filter. */
export const FilterValuesPerCall = 200;

/** Auto Scaling accepts at most 50 group names in one DescribeAutoScalingGroups call. */
export const GroupNamesPerCall = 50;
