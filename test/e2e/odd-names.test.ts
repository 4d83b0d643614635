/**
 * Group names as odd as AWS allows (CreateAutoScalingGroup takes ASCII 33–126 but the colon, see
 * test/sim/documented-rules.test.ts): the built action deploys them, polls each refresh under the
 * group's exact name and reports it Successful, and no AWS name reaches the runner as a workflow
 * command. (The poller's keys are structured, so a name cannot split into another group's.)
 */
import { describe, expect, it } from 'vitest';
import type { Fixture } from '../sim/index.js';
import { DeployScript, errors, output, transcript, useFleet, type RefreshOutput } from '../helpers/fleet.js';
import { runnerCommands } from '../helpers/runner-commands.js';

const fleet = useFleet();

const Names = ['shop/web##[stop-commands]x', "it's-$(id)-`uname`;|&", '[Approve](https//x)!*%{}~'];

const oddGroups: Fixture = {
  images: [{ name: 'base' }],
  launchTemplates: [{ name: 'lt-odd', versions: [{ imageName: 'base' }] }],
  groups: Names.map((name) => ({
    name,
    launchTemplate: { name: 'lt-odd', version: '1' },
    tags: { app: 'shop' },
  })),
};

describe('odd group names', () => {
  it('deploys groups with every character AWS allows in a name and reports each refresh by that name', async () => {
    const { sim } = fleet();
    await sim.reset();
    sim.seed(oddGroups);
    const run = await fleet().main(fleet().inputs({ 'deploy-script': DeployScript }));
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(errors(run)).toEqual([]);
    const refreshes = output<RefreshOutput[]>(run, 'instance-refreshes');
    expect(refreshes.map((r) => [r.group, r.status]).sort()).toEqual(
      Names.map((name) => [name, 'Successful']).sort(),
    );
    // Every poll named one of the groups, exactly.
    const polled = new Set(sim.sent('DescribeInstanceRefreshes').map((c) => c.params.AutoScalingGroupName));
    expect([...polled].sort()).toEqual([...Names].sort());
    // The names are in the log, but none of them commands the runner.
    expect(run.stdout).toContain('shop/web');
    expect(runnerCommands(run.stdout).filter((c) => c.form === '##[' || c.name === 'stop-commands')).toEqual(
      [],
    );
  });
});
