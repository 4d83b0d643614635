// Instance Refresh engine: Pending → InProgress (batches replaced per MinHealthyPercentage, each batch
// waits launch + warmup, checkpoints pause) → Baking (BakeTime) → Successful; a failure rolls back
// (RollbackInProgress → RollbackSuccessful) when AutoRollback is set, else ends Failed; cancel goes
// Cancelling → Cancelled. On success the group takes the desired configuration.
import type { AutoScalingGroup, LaunchTemplateSpecification } from '@aws-sdk/client-auto-scaling';

import { launchGroupInstance, liveMembers, matchesSpec, resolveSpec, specOf } from './groups.js';
import { terminateInstance } from './instances.js';
import type { RefreshRecord } from './state.js';
import type { World } from './world.js';

const terminal = new Set(['Successful', 'Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed']);
export const isActive = (r: RefreshRecord): boolean => !terminal.has(r.refresh.Status ?? '');

const seconds = (s: number | undefined): number | undefined => (s === undefined ? undefined : s * 1000);

function wait(world: World, rec: RefreshRecord, simMs: number, fn: () => void): void {
  rec.stop?.();
  rec.stop = world.clock.after(simMs, () => {
    rec.stop = undefined;
    fn();
  });
}

function group(world: World, rec: RefreshRecord): AutoScalingGroup | undefined {
  return world.state.groups.get(rec.refresh.AutoScalingGroupName ?? '');
}

function setProgress(rec: RefreshRecord, done: number): void {
  const pct = rec.total ? Math.floor((done / rec.total) * 100) : 100;
  const left = rec.total - done;
  const target = rec.refresh.Status === 'RollbackInProgress' ? 'rollback' : 'forward';
  if (target === 'rollback' && rec.refresh.RollbackDetails) {
    rec.refresh.RollbackDetails.PercentageCompleteOnRollback = pct;
    rec.refresh.RollbackDetails.InstancesToUpdateOnRollback = left;
    rec.refresh.RollbackDetails.ProgressDetailsOnRollback = {
      LivePoolProgress: { PercentageComplete: pct, InstancesToUpdate: left },
    };
    return;
  }
  rec.refresh.PercentageComplete = pct;
  rec.refresh.InstancesToUpdate = left;
  rec.refresh.ProgressDetails = { LivePoolProgress: { PercentageComplete: pct, InstancesToUpdate: left } };
}

function end(world: World, rec: RefreshRecord, status: string, reason?: string): void {
  rec.stop?.();
  rec.refresh.Status = status as never;
  rec.refresh.StatusReason = reason;
  rec.refresh.EndTime = world.clock.now();
  if (status === 'RollbackSuccessful' || status === 'RollbackFailed') {
    rec.refresh.RollbackDetails ??= {};
  }
}

/** How many instances one batch replaces, from the healthy-percentage window. */
function batchSize(g: AutoScalingGroup, rec: RefreshRecord): number {
  const cap = Math.max(g.DesiredCapacity ?? 0, 1);
  const minHealthy = rec.refresh.Preferences?.MinHealthyPercentage ?? 90;
  const maxHealthy = rec.refresh.Preferences?.MaxHealthyPercentage ?? 100;
  const down = Math.floor((cap * (100 - minHealthy)) / 100);
  const up = Math.floor((cap * (maxHealthy - 100)) / 100);
  return Math.max(1, down, up);
}

function warmup(world: World, g: AutoScalingGroup, rec: RefreshRecord): number {
  const ctx = { groupName: g.AutoScalingGroupName };
  const pref = seconds(rec.refresh.Preferences?.InstanceWarmup) ?? seconds(g.DefaultInstanceWarmup);
  return (
    world.latency.transition('instancePending', ctx) +
    (pref ?? world.latency.transition('refreshDefaultWarmup', ctx))
  );
}

/**
 * Replaces the queued instances batch by batch with ones launched from `spec`, then calls done.
 * `onBatch` runs after each batch and may stop the run (returns false).
 */
function replace(
  world: World,
  rec: RefreshRecord,
  spec: LaunchTemplateSpecification | undefined,
  onBatch: (done: number) => boolean,
  done: () => void,
): void {
  const g = group(world, rec);
  if (!g) return end(world, rec, 'Failed', 'The Auto Scaling group was deleted.');
  let replaced = 0;
  const step = (): void => {
    if (!rec.queue.length) return done();
    const ids = rec.queue.splice(0, batchSize(g, rec));
    try {
      for (let i = 0; i < ids.length; i++)
        rec.launched.push(launchGroupInstance(world, g, { spec }).instance.InstanceId ?? '');
    } catch (err) {
      const reason = `Failed to launch instances: ${(err as Error).message}`;
      if (rec.refresh.Status === 'RollbackInProgress') return end(world, rec, 'RollbackFailed', reason);
      return fail(world, rec, reason);
    }
    wait(world, rec, warmup(world, g, rec), () => {
      for (const id of ids) {
        const r = world.state.instances.get(id);
        if (r) terminateInstance(world, r);
      }
      replaced += ids.length;
      setProgress(rec, replaced);
      if (onBatch(replaced)) step();
    });
  };
  step();
}

export function startRefresh(world: World, rec: RefreshRecord): void {
  const g = group(world, rec);
  const ctx = { groupName: rec.refresh.AutoScalingGroupName };
  wait(world, rec, world.latency.transition('refreshPending', ctx), () => {
    if (!g || rec.refresh.Status !== 'Pending') return;
    const desired = specOf(rec.refresh.DesiredConfiguration ?? {}) ?? specOf(g);
    let resolved: ReturnType<typeof resolveSpec>;
    try {
      resolved = resolveSpec(world, desired);
    } catch (err) {
      return end(world, rec, 'Failed', (err as Error).message);
    }
    const skip = rec.refresh.Preferences?.SkipMatching ?? false;
    rec.queue = liveMembers(g)
      .filter((m) => !skip || !matchesSpec(m, resolved))
      .map((m) => m.InstanceId ?? '');
    rec.total = rec.queue.length;
    rec.refresh.Status = 'InProgress';
    rec.refresh.StatusReason = undefined;
    setProgress(rec, 0);
    const fault = world.faults.refreshFault(g.AutoScalingGroupName ?? '');
    const checkpoints = [...(rec.refresh.Preferences?.CheckpointPercentages ?? [])].sort((a, b) => a - b);
    let paused = false;
    replace(
      world,
      rec,
      desired,
      () => {
        const pct = rec.refresh.PercentageComplete ?? 0;
        if (fault && pct >= fault.atPercent) {
          fail(world, rec, 'Instance Refresh failed: injected fault', fault.outcome);
          return false;
        }
        while (checkpoints.length && (checkpoints[0] ?? 101) <= pct) {
          checkpoints.shift();
          paused = true;
        }
        if (paused && pct < 100) {
          paused = false;
          rec.refresh.StatusReason = `Waiting for checkpoint at ${pct}%`;
          const delay = seconds(rec.refresh.Preferences?.CheckpointDelay) ?? 3_600_000;
          wait(world, rec, delay, () => {
            rec.refresh.StatusReason = undefined;
            resumeAfterCheckpoint();
          });
          return false;
        }
        return true;
      },
      () => finish(world, rec),
    );
    // A checkpoint pause ends by running the remaining queue with the same rules.
    function resumeAfterCheckpoint(): void {
      replace(
        world,
        rec,
        desired,
        () => true,
        () => finish(world, rec),
      );
    }
  });
}

function finish(world: World, rec: RefreshRecord): void {
  const bake = seconds(rec.refresh.Preferences?.BakeTime) ?? 0;
  const succeed = (): void => {
    const g = group(world, rec);
    const desired = rec.refresh.DesiredConfiguration;
    if (g && desired) {
      if (desired.MixedInstancesPolicy) {
        g.MixedInstancesPolicy = desired.MixedInstancesPolicy;
        g.LaunchTemplate = undefined;
      } else if (desired.LaunchTemplate) {
        g.LaunchTemplate = desired.LaunchTemplate;
        g.MixedInstancesPolicy = undefined;
      }
    }
    setProgress(rec, rec.total);
    end(world, rec, 'Successful');
  };
  if (bake > 0) {
    rec.refresh.Status = 'Baking';
    setProgress(rec, rec.total);
    wait(world, rec, bake, succeed);
  } else succeed();
}

export function fail(
  world: World,
  rec: RefreshRecord,
  reason: string,
  outcome: string = 'RollbackSuccessful',
): void {
  if (!rec.refresh.Preferences?.AutoRollback || outcome === 'Failed' || !rec.refresh.DesiredConfiguration) {
    return end(world, rec, 'Failed', reason);
  }
  rollback(world, rec, reason, outcome === 'RollbackFailed' ? 'RollbackFailed' : 'RollbackSuccessful');
}

/** Replaces what the refresh launched with instances from the group's previous configuration. */
export function rollback(
  world: World,
  rec: RefreshRecord,
  reason: string,
  outcome = 'RollbackSuccessful',
): void {
  rec.stop?.();
  rec.refresh.Status = 'RollbackInProgress';
  rec.refresh.StatusReason = reason;
  rec.refresh.RollbackDetails = {
    RollbackReason: reason,
    RollbackStartTime: world.clock.now(),
    PercentageCompleteOnRollback: 0,
    InstancesToUpdateOnRollback: 0,
  };
  rec.queue = rec.launched.filter((id) => {
    const s = world.state.instances.get(id)?.instance.State?.Name;
    return s === 'pending' || s === 'running';
  });
  rec.launched = [];
  rec.total = rec.queue.length;
  setProgress(rec, 0);
  if (outcome === 'RollbackFailed') {
    return wait(world, rec, world.latency.transition('refreshCancel'), () =>
      end(world, rec, 'RollbackFailed', reason),
    );
  }
  replace(
    world,
    rec,
    specOf(rec.previous),
    () => true,
    () => end(world, rec, 'RollbackSuccessful', reason),
  );
}

export function cancel(world: World, rec: RefreshRecord): void {
  rec.stop?.();
  rec.refresh.Status = 'Cancelling';
  const ctx = { groupName: rec.refresh.AutoScalingGroupName };
  wait(world, rec, world.latency.transition('refreshCancel', ctx), () =>
    end(world, rec, 'Cancelled', 'Cancelled by user'),
  );
}
