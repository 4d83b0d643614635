/**
 * The benchmark's world: N groups on N distinct base images (so N independent pipelines), an
 * AWS-shaped latency profile, and a deterministic per-group variation of it, so that the slowest
 * pipeline is a different group at every N and the same group on every run with the same seed.
 */
import {
  buildFixture,
  type Fixture,
  type LatencyContext,
  type SeedResult,
  type Simulator,
  type TransitionKey,
} from '../sim/index.js';

/** Simulated durations (ms) the benchmark runs with: the simulator's AWS-shaped defaults, tuned where noted. */
export interface LatencyProfile {
  /** Response delay per API action (`default` for the rest). */
  readonly api: Readonly<Record<string, number>>;
  readonly instancePending: number;
  readonly sshBoot: number;
  readonly instanceStopping: number;
  readonly imageBase: number;
  readonly imagePerGiB: number;
  readonly refreshPending: number;
  /** Warmup of each replacement instance (the action leaves `instance-warmup` empty, so this applies). */
  readonly refreshWarmup: number;
  /** Size of each base image's snapshot. */
  readonly imageGiB: number;
  /** Instances per group; with `minHealthyPercentage` it sets the refresh's batches. */
  readonly instancesPerGroup: number;
  readonly minHealthyPercentage: number;
  readonly maxHealthyPercentage: number;
}

/**
 * AWS's usual shape: ~30 s to `running`, ~20 s more to sshd, ~30 s to stop, an 8 GiB AMI in ~5 min,
 * then a refresh of two instances one at a time (90 % healthy), each launch + 60 s warmup. The
 * warmup is shorter than AWS's 300 s default so the refresh does not drown the other stages.
 */
export const DefaultProfile: LatencyProfile = {
  api: { default: 80, RunInstances: 400, CreateImage: 300, StartInstanceRefresh: 300 },
  instancePending: 30_000,
  sshBoot: 20_000,
  instanceStopping: 30_000,
  imageBase: 60_000,
  imagePerGiB: 30_000,
  refreshPending: 15_000,
  refreshWarmup: 60_000,
  imageGiB: 8,
  instancesPerGroup: 2,
  minHealthyPercentage: 90,
  maxHealthyPercentage: 100,
};

/** Per-group multipliers of the profile's durations. */
export interface GroupFactors {
  /** instancePending and sshBoot of the temporary instance. */
  readonly boot: number;
  /** instanceStopping of the temporary instance. */
  readonly stop: number;
  /** The whole AMI creation time. */
  readonly image: number;
  /** Every duration of the group's refresh: pending, replacement launches, warmups. */
  readonly refresh: number;
}

/** mulberry32: a tiny seeded PRNG, so a run's variation is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Factors in [1 - spread, 1 + spread] for groups 0..n-1. Group i gets the same factors whatever n
 * is (one stream per group), so adding groups never reshuffles the ones already there.
 */
export function groupFactors(n: number, options: { seed: number; spread: number }): GroupFactors[] {
  return Array.from({ length: n }, (_, i) => {
    const next = prng(options.seed * 1_000_003 + i);
    const draw = (): number => 1 - options.spread + 2 * options.spread * next();
    return { boot: draw(), stop: draw(), image: draw(), refresh: draw() };
  });
}

/** Names of the fixture (buildFixture's scheme): group i uses template i whose version 1 uses image i. */
export const FleetPrefix = 'bench';
export const groupName = (i: number): string => `${FleetPrefix}-asg-${i}`;

/** N groups on N images, each pinned to version 1 (numeric, so auto-rollback is possible). */
export function fleetFixture(n: number, profile: LatencyProfile): Fixture {
  const fixture = buildFixture({
    groups: n,
    images: n,
    instancesPerGroup: profile.instancesPerGroup,
    versionMode: 'number',
    prefix: FleetPrefix,
    tags: { app: 'bench', env: 'production' },
  });
  return {
    ...fixture,
    images: (fixture.images ?? []).map((image) => ({ ...image, sizeGiB: profile.imageGiB })),
  };
}

/** The simulator's latency settings for a profile (the per-group part is `latencyOverride`). */
export function simulatorLatency(profile: LatencyProfile): {
  api: Record<string, number>;
  transitions: Partial<Record<TransitionKey, number>>;
} {
  return {
    api: { ...profile.api },
    transitions: {
      instancePending: profile.instancePending,
      sshBoot: profile.sshBoot,
      instanceStopping: profile.instanceStopping,
      imageBase: profile.imageBase,
      imagePerGiB: profile.imagePerGiB,
      refreshPending: profile.refreshPending,
      refreshDefaultWarmup: profile.refreshWarmup,
      // Terminated temporary instances must stay visible for the whole run, for the analysis.
      terminatedRetention: 24 * 3_600_000,
    },
  };
}

/** Which group a transition concerns: a group's own resources name it; a temporary instance by its image. */
export function groupIndexOf(
  ctx: LatencyContext,
  sim: Simulator,
  imageIndex: ReadonlyMap<string, number>,
): number | undefined {
  if (ctx.groupName !== undefined) {
    const match = /-asg-(\d+)$/.exec(ctx.groupName);
    return match ? Number(match[1]) : undefined;
  }
  if (ctx.instanceId === undefined) return undefined;
  const source = sim.state.instances.get(ctx.instanceId)?.instance.ImageId;
  return source === undefined ? undefined : imageIndex.get(source);
}

/**
 * The override the simulator calls for every transition: the profile's duration times the group's
 * factor. A group's refresh (its own instances included) takes `refresh`; the temporary instance
 * of its image takes `boot`, `stop` and `image`.
 */
export function latencyOverride(options: {
  readonly sim: Simulator;
  /** What seeding the fleet fixture returned (image names → ids). */
  readonly seeded: SeedResult;
  readonly profile: LatencyProfile;
  readonly factors: readonly GroupFactors[];
}): (key: TransitionKey | 'api', ctx: LatencyContext) => number | undefined {
  const { sim, profile, factors } = options;
  const imageIndex = new Map<string, number>();
  for (const [name, id] of Object.entries(options.seeded.images)) {
    const match = /-base-(\d+)$/.exec(name);
    if (match) imageIndex.set(id, Number(match[1]));
  }
  const base = simulatorLatency(profile).transitions;
  return (key, ctx) => {
    if (key === 'api') return undefined;
    const index = groupIndexOf(ctx, sim, imageIndex);
    const f = index === undefined ? undefined : factors[index];
    const value = base[key];
    if (!f || value === undefined) return undefined;
    if (ctx.groupName !== undefined) {
      return key === 'refreshPending' || key === 'refreshDefaultWarmup' || key === 'instancePending'
        ? value * f.refresh
        : undefined;
    }
    if (key === 'instancePending' || key === 'sshBoot') return value * f.boot;
    if (key === 'instanceStopping') return value * f.stop;
    if (key === 'imageBase' || key === 'imagePerGiB') return value * f.image;
    return undefined;
  };
}
