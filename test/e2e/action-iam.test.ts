/**
 * The IAM policy we document is derived from what the built action really calls: a deploy, a setup
 * and finalize, a refresh that cancels one in progress, a cleanup and a wait-idle, each with its
 * post step, are run against the simulator, and the set of actions it saw must equal the policy's
 * (plus ec2:CreateTags, which AWS authorizes for the TagSpecifications of RunInstances and
 * CreateImage without a call of its own). A policy action never seen fails too: least privilege.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AutoScalingClient, StartInstanceRefreshCommand } from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type ActionRun } from '../helpers/action-runner.js';
import { startFleet, threeGroups, transcript, type Fleet } from '../helpers/fleet.js';

/** Authorized by AWS as part of another call, so the simulator never sees them as calls. */
const Implicit: Readonly<Record<string, string>> = {
  'ec2:CreateTags': 'TagSpecifications on RunInstances and CreateImage',
};

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

let fleet: Fleet;
let autoScaling: AutoScalingClient;
/** `service:Action` of every call an action step made. */
const seen = new Set<string>();

beforeAll(async () => {
  fleet = await startFleet();
  autoScaling = new AutoScalingClient({ ...fleet.sim.clientConfig(), maxAttempts: 3 });
  fleet.sim.seed(threeGroups);
}, 120_000);
afterAll(async () => {
  autoScaling?.destroy();
  await fleet?.stop();
});

/** Runs one step and records the AWS actions it made (the test's own calls stay out). */
async function step(run: () => Promise<ActionRun>): Promise<ActionRun> {
  const from = fleet.sim.calls.length;
  const result = await run();
  for (const call of fleet.sim.calls.slice(from)) seen.add(`${call.service}:${call.action}`);
  expect(result.exitCode, transcript(result)).toBe(0);
  return result;
}

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('the documented IAM policy', () => {
  it('allows exactly the actions the action calls in every command', async () => {
    const upload = { upload: 'build' };
    const deploy = await step(() => fleet.main(fleet.inputs(upload)));
    await step(() => fleet.post(deploy));

    const setup = await step(() => fleet.main(fleet.inputs({ command: 'setup' })));
    const finalize = await step(() =>
      fleet.main(fleet.inputs({ command: 'finalize', 'asg-tags': '' }), { after: setup }),
    );
    await step(() => fleet.post(finalize, { after: finalize }));
    await step(() => fleet.post(setup, { after: finalize }));

    // Someone else's refresh is running: `cancel` needs CancelInstanceRefresh.
    await autoScaling.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'shop-worker',
        Preferences: { MinHealthyPercentage: 50, InstanceWarmup: 100_000 },
      }),
    );
    await step(() => fleet.main(fleet.inputs({ command: 'refresh', 'on-refresh-in-progress': 'cancel' })));
    // A group elsewhere in the account still on a launch configuration: cleanup reads what it launches.
    fleet.sim.seed({
      launchConfigurations: [{ name: 'legacy-lc', imageName: 'base-web' }],
      groups: [{ name: 'legacy', launchConfigurationName: 'legacy-lc', desiredCapacity: 0 }],
    });
    await step(() => fleet.main(fleet.inputs({ command: 'cleanup', 'cleanup-keep': '1' })));
    await step(() => fleet.main(fleet.inputs({ command: 'wait-idle' })));

    // The runs did delete something, so the deletions' permissions are among what was seen.
    for (const action of ['ec2:DeleteLaunchTemplateVersions', 'ec2:DeregisterImage', 'ec2:DeleteSnapshot'])
      expect(seen).toContain(action);
    expect(seen).toContain('autoscaling:CancelInstanceRefresh');

    const policy = JSON.parse(await readFile(path.join(repoRoot, 'docs/iam-policy.json'), 'utf8')) as Policy;
    expect(policy.Version).toBe('2012-10-17');
    for (const statement of policy.Statement) expect(statement.Effect).toBe('Allow');
    const allowed = policy.Statement.flatMap(actionsOf);
    expect(new Set(allowed).size, 'each action in one statement').toBe(allowed.length);
    const aws = allowed.filter((a) => a.startsWith('ec2:') || a.startsWith('autoscaling:')).sort();
    // The simulator names the services as IAM does: `ec2` and `autoscaling`.
    expect(aws).toEqual([...new Set([...seen, ...Object.keys(Implicit)])].sort());

    // The only other permission is passing the instances' role, and only to EC2.
    const others = policy.Statement.filter((s) => actionsOf(s).some((a) => !aws.includes(a)));
    expect(others.map(actionsOf)).toEqual([['iam:PassRole']]);
    expect(others[0]?.Condition?.StringEquals?.['iam:PassedToService']).toBe('ec2.amazonaws.com');

    // Destructive EC2 actions only reach what carries our marker tag.
    const managed = policy.Statement.filter(
      (s) => s.Condition?.StringEquals?.['aws:ResourceTag/asg-rolling:managed'] === 'true',
    ).flatMap(actionsOf);
    for (const action of [
      'ec2:TerminateInstances',
      'ec2:StopInstances',
      'ec2:DeregisterImage',
      'ec2:DeleteSnapshot',
    ])
      expect(managed).toContain(action);
    const tagging = policy.Statement.find((s) => actionsOf(s).includes('ec2:CreateTags'));
    expect(tagging?.Condition?.StringEquals?.['ec2:CreateAction']).toEqual(['RunInstances', 'CreateImage']);
  }, 240_000);
});
