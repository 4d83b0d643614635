/**
 * The minimum age below which cleanup deletes nothing another run made. Between creating a version
 * (or an AMI) and pointing a group at it, another run holds something no describe shows as in use
 * yet; its whole pipeline takes minutes, so an hour is far beyond any such window while still
 * retiring yesterday's leftovers. Things this run made are exempt: it knows what it still needs.
 */
export const MinimumAgeMinutes = 60;

/**
 * Why an item made at `createdAt` (ms since the epoch, 0 when unknown) is too young to delete at
 * `now`, or undefined when it is old enough. An unknown age counts as young: it may be brand new.
 */
export function tooYoung(createdAt: number, now: number): string | undefined {
  if (createdAt <= 0) return 'its age is unknown';
  const minutes = (now - createdAt) / 60_000;
  if (minutes >= MinimumAgeMinutes) return undefined;
  return `made ${Math.max(0, Math.floor(minutes))} minutes ago (younger than ${MinimumAgeMinutes})`;
}
