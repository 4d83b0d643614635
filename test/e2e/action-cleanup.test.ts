/**
 * `cleanup` on the built action after two deploys: it keeps the newest `cleanup-keep` of ours and
 * deletes the older (the full matrix of what is kept and why is in cleanup-*.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { ActionRun } from '../helpers/action-runner.js';
import { ageEverything, errors, output, threeGroups, transcript, useFleet } from '../helpers/fleet.js';

const fleet = useFleet({ seed: threeGroups });

interface Cleaned {
  kind: string;
  id: string;
  reason: string;
}

describe('cleanup after two deploys', () => {
  it('keeps cleanup-keep of ours per template and deletes the older versions, AMIs and snapshots', async () => {
    // The deploys keep everything (cleanup-keep 10), so the cleanup step is the one that deletes.
    const deploys = [];
    for (let i = 0; i < 2; i++) {
      const run = await fleet().main(fleet().inputs({ upload: 'build', 'cleanup-keep': '10' }));
      expect(run.exitCode, transcript(run)).toBe(0);
      expect(output<Cleaned[]>(run, 'cleaned')).toEqual([]);
      deploys.push(run);
    }
    // The second deploy starts from the first one's AMIs: find each AMI by the group it was made for.
    const amisOf = (run: ActionRun, group: string): string =>
      output<{ imageId: string; groups: string[] }[]>(run, 'amis').find((a) => a.groups.includes(group))
        ?.imageId ?? '';
    const [first, second] = deploys as [ActionRun, ActionRun];
    const web = fleet.seeded().launchTemplates['lt-web'] ?? '';
    const worker = fleet.seeded().launchTemplates['lt-worker'] ?? '';
    const oldWorkerAmi = amisOf(first, 'shop-worker');
    const oldWebAmi = amisOf(first, 'shop-web');
    const snapshotsOf = (ami: string): string[] =>
      (fleet().sim.state.images.get(ami)?.BlockDeviceMappings ?? []).flatMap((m) => m.Ebs?.SnapshotId ?? []);
    const oldWorkerSnapshots = snapshotsOf(oldWorkerAmi);
    const oldWebSnapshots = snapshotsOf(oldWebAmi);
    expect(oldWorkerSnapshots).toHaveLength(1);
    expect(oldWebSnapshots).toHaveLength(1);

    // The deploys were yesterday: what they made is past cleanup's minimum age.
    ageEverything(fleet().sim);
    const cleanup = await fleet().main(fleet().inputs({ command: 'cleanup', 'cleanup-keep': '1' }));
    expect(cleanup.exitCode, transcript(cleanup)).toBe(0);
    expect(errors(cleanup)).toEqual([]);
    const cleaned = output<Cleaned[]>(cleanup, 'cleaned');
    // Version 2 of each template and its AMI are older than the newest one of ours and unused: they
    // go. (shop-web still follows $Default after each deploy, so the second one made version 3 the
    // default and nothing names version 2 any more.)
    expect(cleaned.map((c) => [c.kind, c.id]).sort()).toEqual(
      [
        ['launch-template-version', `${worker}:2`],
        ['ami', oldWorkerAmi],
        ['snapshot', oldWorkerSnapshots[0]],
        ['launch-template-version', `${web}:2`],
        ['ami', oldWebAmi],
        ['snapshot', oldWebSnapshots[0]],
      ].sort(),
    );
    expect(cleanup.stdout).toContain(`Keeping launch-template-version ${web}:3: default version`);
    for (const ami of [oldWorkerAmi, oldWebAmi]) expect(fleet().sim.state.images.has(ami)).toBe(false);
    for (const snapshot of [...oldWorkerSnapshots, ...oldWebSnapshots])
      expect(fleet().sim.state.snapshots.has(snapshot)).toBe(false);
    for (const group of ['shop-web', 'shop-worker'])
      expect(fleet().sim.state.images.get(amisOf(second, group))?.State).toBe('available');
    expect([...(fleet().sim.state.templateByName('lt-worker')?.versions.keys() ?? [])].sort()).toEqual([
      1, 3,
    ]);
    expect([...(fleet().sim.state.templateByName('lt-web')?.versions.keys() ?? [])].sort()).toEqual([1, 3]);

    // A second cleanup finds nothing more to delete.
    const again = await fleet().main(fleet().inputs({ command: 'cleanup', 'cleanup-keep': '1' }));
    expect(again.exitCode, transcript(again)).toBe(0);
    expect(output<Cleaned[]>(again, 'cleaned')).toEqual([]);
    // Nothing the deploys' pipelines made is left running, so cleanup had no instance to terminate.
    expect(fleet().sim.calls.filter((c) => c.action === 'TerminateInstances').length).toBe(2 * 2);
  });
});
