import { describe, expect, it } from 'vitest';
import {
  DefaultProfile,
  groupFactors,
  latencyOverride,
  prng,
  type GroupFactors,
  type LatencyProfile,
} from './fleet.js';
import { apiDelay, idealOf, pipelineModel, refreshBatches, refreshIdealOf } from './ideal.js';
import type { Simulator } from '../sim/index.js';

const one: GroupFactors = { boot: 1, stop: 1, image: 1, refresh: 1 };

describe('refreshBatches', () => {
  it.each([
    // instances, min healthy, max healthy → batches (batch = max(1, ⌊n·(100−min)/100⌋, ⌊n·(max−100)/100⌋))
    [2, 90, 100, 2],
    [10, 90, 100, 10],
    [10, 50, 100, 2],
    [10, 90, 200, 1],
    [3, 0, 100, 1],
    [1, 100, 100, 1],
  ])('%i instances at %i–%i %% healthy: %i batch(es)', (instancesPerGroup, min, max, batches) => {
    const profile: LatencyProfile = {
      ...DefaultProfile,
      instancesPerGroup,
      minHealthyPercentage: min,
      maxHealthyPercentage: max,
    };
    expect(refreshBatches(profile)).toBe(batches);
  });
});

describe('pipelineModel', () => {
  it('adds every stage of the documented formula, scaled to real time, plus the real deploy', () => {
    const p = DefaultProfile;
    const model = pipelineModel({ profile: p, factors: one, deployMs: 150, timeScale: 0.01 });
    const simulated =
      p.api.RunInstances! +
      p.instancePending +
      p.sshBoot +
      apiDelay(p, 'StopInstances') +
      p.instanceStopping +
      p.api.CreateImage! +
      p.imageBase +
      p.imageGiB * p.imagePerGiB +
      apiDelay(p, 'TerminateInstances') +
      apiDelay(p, 'CreateLaunchTemplateVersion') +
      p.api.StartInstanceRefresh! +
      p.refreshPending +
      refreshBatches(p) * (p.instancePending + p.refreshWarmup);
    expect(model.totalMs).toBeCloseTo(simulated * 0.01 + 150, 6);
    expect(model.stages.deploy).toBeCloseTo(150 / 0.01, 6);
  });

  it('applies each factor to its own stages only', () => {
    const base = pipelineModel({ profile: DefaultProfile, factors: one, deployMs: 0, timeScale: 1 });
    const slowImage = pipelineModel({
      profile: DefaultProfile,
      factors: { ...one, image: 1.3 },
      deployMs: 0,
      timeScale: 1,
    });
    const imageWork = DefaultProfile.imageBase + DefaultProfile.imageGiB * DefaultProfile.imagePerGiB;
    expect(slowImage.stages.image - base.stages.image).toBeCloseTo(0.3 * imageWork, 6);
    expect(slowImage.stages.launch).toBe(base.stages.launch);
    expect(slowImage.stages.refresh).toBe(base.stages.refresh);
    const slowBoot = pipelineModel({
      profile: DefaultProfile,
      factors: { ...one, boot: 0.7 },
      deployMs: 0,
      timeScale: 1,
    });
    expect(slowBoot.stages.ssh).toBeCloseTo(0.7 * DefaultProfile.sshBoot, 6);
    expect(slowBoot.stages.image).toBe(base.stages.image);
  });
});

describe('idealOf', () => {
  it('is the slowest group, not the sum or the mean', () => {
    const factors = [one, { boot: 1.2, stop: 1.2, image: 1.2, refresh: 1.2 }, { ...one, image: 0.8 }];
    const options = { profile: DefaultProfile, deployMs: 100, timeScale: 0.02 };
    const ideal = idealOf({ ...options, factors });
    expect(ideal.group).toBe(1);
    expect(ideal.ms).toBeCloseTo(pipelineModel({ ...options, factors: factors[1]! }).totalMs, 6);
  });
});

describe('groupFactors', () => {
  it('stays within 1 ± spread and is reproducible from the seed', () => {
    const a = groupFactors(200, { seed: 42, spread: 0.3 });
    const values = a.flatMap((f) => [f.boot, f.stop, f.image, f.refresh]);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0.7);
    expect(Math.max(...values)).toBeLessThanOrEqual(1.3);
    // Spread out, not a constant.
    expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(0.5);
    expect(groupFactors(200, { seed: 42, spread: 0.3 })).toEqual(a);
    expect(groupFactors(200, { seed: 43, spread: 0.3 })).not.toEqual(a);
  });

  it('gives group i the same factors whatever N is', () => {
    expect(groupFactors(4, { seed: 7, spread: 0.3 })).toEqual(
      groupFactors(64, { seed: 7, spread: 0.3 }).slice(0, 4),
    );
  });

  it('prng draws in [0, 1)', () => {
    const next = prng(1);
    const draws = Array.from({ length: 1000 }, next);
    expect(draws.every((d) => d >= 0 && d < 1)).toBe(true);
    expect(new Set(draws).size).toBe(1000);
  });
});

describe('latencyOverride', () => {
  const factors: GroupFactors[] = [one, { boot: 1.2, stop: 0.8, image: 1.1, refresh: 0.9 }];
  const sim = {
    state: {
      instances: new Map([
        ['i-temp', { instance: { ImageId: 'ami-1' } }],
        ['i-other', { instance: { ImageId: 'ami-unknown' } }],
      ]),
    },
  } as unknown as Simulator;
  const override = latencyOverride({
    sim,
    seeded: { images: { 'bench-base-0': 'ami-0', 'bench-base-1': 'ami-1' }, launchTemplates: {}, groups: [] },
    profile: DefaultProfile,
    factors,
  });
  const p = DefaultProfile;

  it("varies the temporary instance of a group's image by boot, stop and image factors", () => {
    expect(override('instancePending', { instanceId: 'i-temp' })).toBeCloseTo(p.instancePending * 1.2, 6);
    expect(override('sshBoot', { instanceId: 'i-temp' })).toBeCloseTo(p.sshBoot * 1.2, 6);
    expect(override('instanceStopping', { instanceId: 'i-temp' })).toBeCloseTo(p.instanceStopping * 0.8, 6);
    expect(override('imagePerGiB', { instanceId: 'i-temp', imageId: 'ami-new' })).toBeCloseTo(
      p.imagePerGiB * 1.1,
      6,
    );
  });

  it("varies everything of the group's refresh by its refresh factor", () => {
    expect(override('refreshPending', { groupName: 'bench-asg-1' })).toBeCloseTo(p.refreshPending * 0.9, 6);
    expect(override('instancePending', { groupName: 'bench-asg-1' })).toBeCloseTo(p.instancePending * 0.9, 6);
    expect(override('refreshDefaultWarmup', { groupName: 'bench-asg-1' })).toBeCloseTo(
      p.refreshWarmup * 0.9,
      6,
    );
  });

  it('leaves API latency and unknown resources to the defaults', () => {
    expect(override('api', { action: 'RunInstances' })).toBeUndefined();
    expect(override('instancePending', { instanceId: 'i-other' })).toBeUndefined();
    expect(override('instancePending', { groupName: 'elsewhere' })).toBeUndefined();
    expect(override('instanceShuttingDown', { groupName: 'bench-asg-0' })).toBeUndefined();
  });
});

describe('refreshIdealOf', () => {
  it("is the slowest group's refresh alone plus one poll interval, in real ms", () => {
    const p = DefaultProfile;
    const slow: GroupFactors = { ...one, refresh: 1.2, image: 0.5 };
    const ideal = refreshIdealOf({ profile: p, factors: [one, slow], timeScale: 0.01, pollMs: 10_000 });
    const refresh =
      apiDelay(p, 'StartInstanceRefresh') +
      (p.refreshPending + refreshBatches(p) * (p.instancePending + p.refreshWarmup)) * 1.2;
    expect(ideal.group).toBe(1);
    expect(ideal.ms).toBeCloseTo((refresh + 10_000) * 0.01, 6);
  });
});
