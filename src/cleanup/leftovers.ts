/**
 * What runs leave behind, decided as a pure function like the rest of the policy: temporary
 * instances of runs that died, snapshots whose AMI is gone, and the volumes temporary instances
 * leave `available` when their template keeps volumes on termination.
 */
import { Roles, Tags } from '../aws/tags.js';
import { MinimumAgeMinutes, tooYoung } from './age.js';
import { inScope, type Scope } from './scope.js';
import type { Inventory } from './types.js';
import type { InstanceInfo, SnapshotInfo } from '../aws/resources.js';
import type { InstanceTermination, PolicyOptions, SnapshotDeletion, VolumeDeletion } from './plan-types.js';

/** States in which a temporary instance still costs money and can be terminated. */
const OrphanStates = new Set(['pending', 'running', 'stopping', 'stopped']);

export function planOrphans(input: {
  inventory: Inventory;
  scope: Scope;
  options: PolicyOptions;
}): InstanceTermination[] {
  const { inventory, scope, options } = input;
  const terminations: InstanceTermination[] = [];
  for (const instance of [...inventory.temporaryInstances].sort((a, b) => a.id.localeCompare(b.id))) {
    if (!isOurTemporaryInstance(instance) || !OrphanStates.has(instance.state)) continue;
    const runId = instance.tags[Tags.RunId] ?? '';
    if (runId === options.runId || !inScope(instance.tags, scope)) continue;
    const created = createdAt(instance);
    // An instance we cannot age might belong to a job still running: leave it.
    if (created === undefined) continue;
    const minutes = (options.now - created) / 60_000;
    if (minutes <= options.orphanAgeMinutes) continue;
    terminations.push({
      id: instance.id,
      reason: `temporary instance of run ${runId || '(unknown)'}, ${Math.floor(minutes)} minutes old (over ${options.orphanAgeMinutes}), ${instance.state}`,
    });
  }
  return terminations;
}

/**
 * Our snapshots whose AMI is gone (a DeleteSnapshot that failed or was cancelled after its AMI was
 * deregistered, a failed AMI that listed none): no image of the account uses them, they are complete,
 * of another run and older than orphan-age, so no bake still in progress can be meant.
 */
export function planOrphanSnapshots(input: {
  inventory: Inventory;
  scope: Scope;
  options: PolicyOptions;
}): SnapshotDeletion[] {
  const { inventory, scope, options } = input;
  const mapped = new Set(inventory.images.flatMap((image) => image.snapshotIds));
  const deletions: SnapshotDeletion[] = [];
  for (const snapshot of [...inventory.snapshots].sort((a, b) => a.id.localeCompare(b.id))) {
    if (!isOurSnapshot(snapshot) || snapshot.state !== 'completed' || mapped.has(snapshot.id)) continue;
    if ((inventory.snapshotUsers[snapshot.id] ?? []).length > 0) continue;
    if (snapshot.tags[Tags.RunId] === options.runId || !inScope(snapshot.tags, scope)) continue;
    const minutes = (options.now - snapshot.startedAt) / 60_000;
    if (snapshot.startedAt <= 0 || minutes <= Math.max(options.orphanAgeMinutes, MinimumAgeMinutes)) continue;
    const image = /\bami-[0-9a-f]+\b/.exec(snapshot.description)?.[0];
    deletions.push({ id: snapshot.id, reason: `its AMI ${image ? `${image} ` : ''}is gone`, requires: [] });
  }
  return deletions;
}

function isOurSnapshot(snapshot: SnapshotInfo): boolean {
  return snapshot.tags[Tags.Managed] === 'true' && snapshot.tags[Tags.Role] === Roles.Ami;
}

function isOurTemporaryInstance(instance: InstanceInfo): boolean {
  return instance.tags[Tags.Managed] === 'true' && instance.tags[Tags.Role] === Roles.TemporaryInstance;
}

/** The CreatedAt tag we wrote, else LaunchTime (which restarts when a stopped instance starts again). */
function createdAt(instance: InstanceInfo): number | undefined {
  const tagged = Date.parse(instance.tags[Tags.CreatedAt] ?? '');
  if (Number.isFinite(tagged)) return tagged;
  return instance.launchedAt > 0 ? instance.launchedAt : undefined;
}

/**
 * Our temporary instances' volumes that nothing holds any more (`available`): no instance can use
 * them again, so once older than the minimum age (no launch of a running job can mean them) they go.
 */
export function planVolumes(input: {
  inventory: Inventory;
  scope: Scope;
  options: PolicyOptions;
}): VolumeDeletion[] {
  const { inventory, scope, options } = input;
  const deletions: VolumeDeletion[] = [];
  for (const volume of [...inventory.volumes].sort((a, b) => a.id.localeCompare(b.id))) {
    if (volume.state !== 'available') continue;
    if (volume.tags[Tags.Managed] !== 'true' || volume.tags[Tags.Role] !== Roles.TemporaryInstance) continue;
    if (!inScope(volume.tags, scope) || tooYoung(volume.createdAt, options.now)) continue;
    const runId = volume.tags[Tags.RunId] ?? '(unknown)';
    deletions.push({
      id: volume.id,
      reason: `volume of a temporary instance of run ${runId}, left available after it was terminated`,
    });
  }
  return deletions;
}
