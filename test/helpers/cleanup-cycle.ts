/**
 * What the cleanup end-to-end tests share: a simulator with real SDK clients, our AMIs marked as
 * the pipeline tags them, and the cycle every case runs (dry run, real run, rerun) before proving
 * that nothing in use lost its image.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { runCleanup } from '../../src/cleanup/index.js';
import type { CleanupOptions } from '../../src/cleanup/types.js';
import { type CleanupReport } from '../../src/report/records.js';
import type { Selection } from '../../src/config/index.js';
import { Roles, Tags } from '../../src/aws/tags.js';
import { assertNothingInUseLost, existingImages, runtime } from './cleanup-invariant.js';
import { startSimulator, type Fixture, type SeedResult, type Simulator } from '../sim/index.js';

/** The run id of the cleanup under test. */
export const RUN = 'run-now';
const Mutations = new Set([
  'DeleteLaunchTemplateVersions',
  'DeregisterImage',
  'DeleteSnapshot',
  'TerminateInstances',
]);

export const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();

/** Versions as we make them, each using the named image. */
export const ours = (...images: string[]) =>
  images.map((imageName, i) => ({ imageName, description: `asg-rolling run r${i} commit abc1234` }));

const key = (report: CleanupReport): string[] => report.deleted.map((d) => `${d.kind} ${d.id}`).sort();

export const ids = (report: CleanupReport, kind: string): string[] =>
  report.deleted
    .filter((d) => d.kind === kind)
    .map((d) => d.id)
    .sort();
export const kept = (report: CleanupReport, id: string | undefined): string | undefined =>
  report.kept.find((k) => k.id === id)?.reason;

/** How long ago seeded resources were made: older than cleanup's minimum age, as yesterday's are. */
export const SeededAgeMinutes = 24 * 60;

export interface CleanupSimulator {
  sim(): Simulator;
  /** Seeds the fixture as made SeededAgeMinutes ago (versions, images, snapshots). */
  seed(fixture: Fixture): SeedResult;
  ec2(): EC2Client;
  autoScaling(): AutoScalingClient;
  /** Marks a seeded image as one of our AMIs for the given templates, made `age` minutes ago. */
  markOurs(
    seeded: SeedResult,
    image: string,
    opts: { templates?: string[]; groups?: string[]; age: number; runId?: string },
  ): Promise<string>;
  /**
   * Dry run (no change), real run (the same deletions, nothing in use lost), rerun (nothing to do).
   * Returns the real run's report.
   */
  cycle(options: Partial<CleanupOptions> & { selection: Selection }): Promise<CleanupReport>;
}

/** Starts the simulator and its clients before the file's tests, resets it before each, stops it after. */
export function useCleanupSimulator(): CleanupSimulator {
  let sim: Simulator;
  let ec2: EC2Client;
  let autoScaling: AutoScalingClient;

  beforeAll(async () => {
    sim = await startSimulator({ timeScale: 0.001 });
    const config = { ...sim.clientConfig(), maxAttempts: 3 };
    expect(config).toMatchObject({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    ec2 = new EC2Client(config);
    autoScaling = new AutoScalingClient(config);
  });
  afterAll(async () => {
    ec2?.destroy();
    autoScaling?.destroy();
    await sim?.stop();
  });
  beforeEach(async () => {
    await sim.reset();
  });

  function seed(fixture: Fixture): SeedResult {
    const seeded = sim.seed(fixture);
    const then = new Date(Date.now() - SeededAgeMinutes * 60_000);
    for (const record of sim.state.templates.values())
      for (const version of record.versions.values()) version.CreateTime = then;
    for (const image of sim.state.images.values()) image.CreationDate = then.toISOString();
    for (const snapshot of sim.state.snapshots.values()) snapshot.StartTime = then;
    return seeded;
  }

  async function markOurs(
    seeded: SeedResult,
    image: string,
    opts: { templates?: string[]; groups?: string[]; age: number; runId?: string },
  ): Promise<string> {
    const id = seeded.images[image] ?? '';
    const templateIds = (opts.templates ?? []).map((t) => seeded.launchTemplates[t] ?? t);
    await ec2.send(
      new CreateTagsCommand({
        Resources: [id],
        Tags: [
          { Key: Tags.Managed, Value: 'true' },
          { Key: Tags.Role, Value: Roles.Ami },
          { Key: Tags.RunId, Value: opts.runId ?? 'run-old' },
          { Key: Tags.LaunchTemplates, Value: templateIds.join(',') },
          { Key: Tags.Groups, Value: (opts.groups ?? []).join(',') },
          { Key: Tags.CreatedAt, Value: minutesAgo(opts.age) },
        ],
      }),
    );
    // Seeding creates every image in the same instant; the ranking by CreationDate needs an order.
    const image_ = sim.state.images.get(id);
    if (image_) image_.CreationDate = minutesAgo(opts.age);
    return id;
  }

  async function cycle(options: Partial<CleanupOptions> & { selection: Selection }): Promise<CleanupReport> {
    const full: CleanupOptions = { keep: 1, orphanAgeMinutes: 360, dryRun: false, runId: RUN, ...options };
    const before = await existingImages(ec2);

    sim.clearCalls();
    const dry = await runCleanup({ ...full, dryRun: true }, runtime({ ec2, autoScaling }));
    expect(sim.calls.filter((c) => !c.action.startsWith('Describe')).map((c) => c.action)).toEqual([]);
    expect(dry.deleted.every((d) => d.dryRun)).toBe(true);
    expect(await existingImages(ec2)).toEqual(before);

    sim.clearCalls();
    const real = await runCleanup(full, runtime({ ec2, autoScaling }));
    expect(real.failures).toEqual([]);
    expect(key(real)).toEqual(key(dry));
    expect(real.deleted.every((d) => !d.dryRun)).toBe(true);
    await assertNothingInUseLost({ ec2, autoScaling }, before);

    sim.clearCalls();
    const again = await runCleanup(full, runtime({ ec2, autoScaling }));
    expect(again.deleted).toEqual([]);
    expect(again.failures).toEqual([]);
    expect(sim.calls.filter((c) => Mutations.has(c.action))).toEqual([]);
    return real;
  }

  return { sim: () => sim, seed, ec2: () => ec2, autoScaling: () => autoScaling, markOurs, cycle };
}
