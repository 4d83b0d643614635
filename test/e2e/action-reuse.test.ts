/**
 * Image reuse on the built action: a deploy whose bake would repeat an earlier one (same source
 * image, commit, uploads, script and deploy-env) rolls the existing AMI out instead; one changed
 * uploaded byte bakes again.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Tags } from '../../src/aws/tags.js';
import type { ActionRun } from '../helpers/action-runner.js';
import { errors, output, threeGroups, transcript, useFleet, type RefreshOutput } from '../helpers/fleet.js';

const fleet = useFleet({ seed: threeGroups });

const Commit = 'c'.repeat(40);
interface AmiOutput {
  imageId: string;
  sourceImageId: string;
  groups: string[];
  reusedFromRun?: string;
}

/** A deploy of Commit into one fixed upload-dir (where the files land is part of the bake key). */
async function deploy(given: Record<string, string> = {}): Promise<ActionRun> {
  const run = await fleet().main(
    fleet().inputs({
      upload: 'build',
      'upload-dir': path.join(fleet().workspace, 'remote-reuse'),
      'cleanup-keep': '5',
      ...given,
    }),
    { env: { GITHUB_SHA: Commit } },
  );
  expect(run.exitCode, transcript(run)).toBe(0);
  expect(errors(run)).toEqual([]);
  return run;
}

const calls = (action: string): number => fleet().sim.sent(action).length;
const runIdOf = (imageId: string): string | undefined =>
  fleet()
    .sim.state.images.get(imageId)
    ?.Tags?.find((t) => t.Key === Tags.RunId)?.Value;

const app = (): string => path.join(fleet().workspace, 'build', 'app.txt');
let original: string | undefined;
afterEach(async () => {
  if (original !== undefined) await writeFile(app(), original);
  original = undefined;
});

describe('reuse-image', () => {
  it('a re-run of an unchanged deploy bakes nothing; one changed uploaded byte bakes again', async () => {
    const first = await deploy();
    const baked = output<AmiOutput[]>(first, 'amis');
    expect(baked).toHaveLength(2);
    for (const ami of baked)
      expect(
        fleet()
          .sim.state.images.get(ami.imageId)
          ?.Tags?.find((t) => t.Key === Tags.BakeKey)?.Value,
      ).toMatch(/^v1-[0-9a-f]{64}$/);
    fleet().sim.clearCalls();

    const rerun = await deploy();
    expect(calls('RunInstances')).toBe(0);
    expect(calls('CreateImage')).toBe(0);
    const reused = output<AmiOutput[]>(rerun, 'amis');
    expect(reused.map((a) => a.imageId).sort()).toEqual(baked.map((a) => a.imageId).sort());
    for (const ami of reused) {
      expect(ami.reusedFromRun).toBe(runIdOf(ami.imageId));
      expect(rerun.stdout).toContain(`reused ${ami.imageId} (baked by run ${ami.reusedFromRun})`);
    }
    const refreshes = output<RefreshOutput[]>(rerun, 'instance-refreshes');
    expect(refreshes.map((r) => r.status)).toEqual(['Successful', 'Successful', 'Successful']);

    original = await readFile(app(), 'utf8');
    await writeFile(app(), `${original}!`);
    fleet().sim.clearCalls();
    const changed = await deploy();
    expect(calls('RunInstances')).toBe(2);
    expect(calls('CreateImage')).toBe(2);
    expect(output<AmiOutput[]>(changed, 'amis').every((a) => a.reusedFromRun === undefined)).toBe(true);
  });

  it('the same commit promoted to another group on the same base image reuses its AMI', async () => {
    // shop-api and shop-web share lt-web and its base image: deploy one, then the other.
    const staging = await deploy({ 'asg-tags': '', 'asg-names': 'shop-api' });
    const [ami] = output<AmiOutput[]>(staging, 'amis');
    fleet().sim.clearCalls();
    const production = await deploy({ 'asg-tags': '', 'asg-names': 'shop-web' });
    expect(calls('RunInstances')).toBe(0);
    expect(calls('CreateImage')).toBe(0);
    expect(output<AmiOutput[]>(production, 'amis')).toEqual([
      { ...ami, groups: ['shop-web'], reusedFromRun: runIdOf(ami?.imageId ?? '') },
    ]);
  });

  it('reuse-image false bakes again', async () => {
    await deploy({ 'asg-tags': '', 'asg-names': 'shop-api' });
    fleet().sim.clearCalls();
    await deploy({ 'asg-tags': '', 'asg-names': 'shop-web', 'reuse-image': 'false' });
    expect(calls('RunInstances')).toBe(1);
    expect(calls('CreateImage')).toBe(1);
  });
});
