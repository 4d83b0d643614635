/**
 * The physical limit of a deploy: how long one group's pipeline takes if the action noticed every
 * state change the instant it happened. Computed from the same latency profile and per-group
 * factors the simulator runs with, so "wall / ideal" measures only what the action adds.
 *
 * Per group (simulated ms, f = the group's factors, api(X) = response delay of action X):
 *
 *   launch  = api(RunInstances) + instancePending·f.boot
 *   ssh     = sshBoot·f.boot
 *   deploy  = measured separately (real ms, one deploy over SSH to the same sshd)
 *   stop    = api(StopInstances) + instanceStopping·f.stop
 *   image   = api(CreateImage) + (imageBase + GiB·imagePerGiB)·f.image
 *   version = api(TerminateInstances) + api(CreateLaunchTemplateVersion)
 *   refresh = api(StartInstanceRefresh) + (refreshPending + batches·(instancePending + warmup))·f.refresh
 *
 *   batches = ceil(instances / batch), batch = max(1, ⌊n·(100 − minHealthy)/100⌋, ⌊n·(maxHealthy − 100)/100⌋)
 *
 * ideal(real ms) = max over groups of (Σ simulated stages · timeScale + deploy). Left out on purpose:
 * process start, discovery before the first launch and cleanup after the last refresh (the same for
 * any N, visible in the N = 1 row), and every poll's detection lag (what the benchmark looks for).
 */
import type { GroupFactors, LatencyProfile } from './fleet.js';

/** The stages of one pipeline in order; `deploy` is the only one in real time. */
export const Stages = ['launch', 'ssh', 'deploy', 'stop', 'image', 'version', 'refresh'] as const;
export type Stage = (typeof Stages)[number];

/** One group's modelled pipeline. */
export interface PipelineModel {
  /** Simulated ms per stage (deploy: its real ms divided by timeScale, for one unit throughout). */
  readonly stages: Readonly<Record<Stage, number>>;
  /** Real ms of the whole pipeline. */
  readonly totalMs: number;
}

/** Response delay of an action, as the simulator picks it. */
export function apiDelay(profile: LatencyProfile, action: string): number {
  return profile.api[action] ?? profile.api.default ?? 0;
}

/** Replacement batches of a refresh, with the simulator's (and AWS's) healthy-percentage window. */
export function refreshBatches(profile: LatencyProfile): number {
  const n = Math.max(profile.instancesPerGroup, 1);
  const down = Math.floor((n * (100 - profile.minHealthyPercentage)) / 100);
  const up = Math.floor((n * (profile.maxHealthyPercentage - 100)) / 100);
  const batch = Math.max(1, down, up);
  return Math.ceil(profile.instancesPerGroup / batch);
}

/** The modelled pipeline of one group. */
export function pipelineModel(options: {
  readonly profile: LatencyProfile;
  readonly factors: GroupFactors;
  /** Real ms of one deploy over SSH. */
  readonly deployMs: number;
  readonly timeScale: number;
}): PipelineModel {
  const { profile: p, factors: f, deployMs, timeScale } = options;
  const stages: Record<Stage, number> = {
    launch: apiDelay(p, 'RunInstances') + p.instancePending * f.boot,
    ssh: p.sshBoot * f.boot,
    deploy: deployMs / timeScale,
    stop: apiDelay(p, 'StopInstances') + p.instanceStopping * f.stop,
    image: apiDelay(p, 'CreateImage') + (p.imageBase + p.imageGiB * p.imagePerGiB) * f.image,
    version: apiDelay(p, 'TerminateInstances') + apiDelay(p, 'CreateLaunchTemplateVersion'),
    refresh:
      apiDelay(p, 'StartInstanceRefresh') +
      (p.refreshPending + refreshBatches(p) * (p.instancePending + p.refreshWarmup)) * f.refresh,
  };
  const simulated = Stages.reduce((sum, stage) => sum + stages[stage], 0);
  return { stages, totalMs: simulated * timeScale };
}

/** The ideal of a run: its slowest group's pipeline, and which group that is. */
export function idealOf(options: {
  readonly profile: LatencyProfile;
  readonly factors: readonly GroupFactors[];
  readonly deployMs: number;
  readonly timeScale: number;
}): { readonly ms: number; readonly group: number } {
  let best = { ms: 0, group: -1 };
  options.factors.forEach((factors, group) => {
    const { totalMs } = pipelineModel({ ...options, factors });
    if (totalMs > best.ms) best = { ms: totalMs, group };
  });
  return best;
}

/**
 * The limit of a run that bakes nothing (a rollback, a deploy whose AMIs are reused): the slowest
 * group's refresh alone, plus one refresh poll interval (simulated ms) in which its end is seen.
 */
export function refreshIdealOf(options: {
  readonly profile: LatencyProfile;
  readonly factors: readonly GroupFactors[];
  readonly timeScale: number;
  readonly pollMs: number;
}): { readonly ms: number; readonly group: number } {
  let best = { ms: 0, group: -1 };
  options.factors.forEach((factors, group) => {
    const { refresh } = pipelineModel({ ...options, factors, deployMs: 0 }).stages;
    const ms = (refresh + options.pollMs) * options.timeScale;
    if (ms > best.ms) best = { ms, group };
  });
  return best;
}
