/**
 * The per-use IAM policies we document (docs/iam/*.json) are proved against what the built action
 * really does. Every command runs against the simulator: deploys (one cancelling a refresh in
 * progress, one keeping its instance), a setup and finalize, a refresh, a cleanup, a wait-idle and
 * a rollback (cancelling a refresh in progress), each with its post step. For every call the simulator saw, the request contexts AWS would
 * authorize are built from the call and the account as the call found it (test/helpers/iam-context.ts)
 * and evaluated with @cloud-copilot/iam-simulate against the policy of that use: all must be allowed.
 * Each policy allows exactly the actions its use needed (no unused permission), and a table of calls
 * the policies exist to stop must be denied.
 */
import {
  AutoScalingClient,
  PutWarmPoolCommand,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionRun } from '../helpers/action-runner.js';
import { deployable, requestsFor, type AuthRequest } from '../helpers/iam-context.js';
import {
  actionsOf,
  decide,
  describeRequest,
  filledIn,
  readPolicy,
  resourcesOf,
  Uses,
  type Policy,
  type Use,
} from '../helpers/iam-policies.js';
import type { CallRecord } from '../sim/index.js';
import { ageEverything, threeGroups, transcript, useFleet } from '../helpers/fleet.js';
import { deniedCases } from '../helpers/iam-denied.js';

const fleet = useFleet();
let autoScaling: AutoScalingClient;
let baseWebImage = '';
const policies = {} as Record<Use, Policy>;
/** The calls each use's steps made, each with the requests built when the simulator answered it. */
const callsOf = Object.fromEntries(Uses.map((u) => [u, [] as CallRecord[]])) as Record<Use, CallRecord[]>;

beforeAll(async () => {
  autoScaling = new AutoScalingClient({ ...fleet().sim.clientConfig(), maxAttempts: 3 });
  fleet().sim.world.observer = (call, state) => {
    try {
      return requestsFor(call, state);
    } catch (error) {
      return { error: String(error) };
    }
  };
  // Elsewhere in the account, not deployable: a group still on a launch configuration (cleanup reads
  // what it launches), a launch template nobody selected, and a group with a warm pool (cleanup reads
  // the versions its waiting instances were launched from).
  const fixture = deployable(threeGroups);
  const seeded = fleet().sim.seed({
    ...fixture,
    launchTemplates: [
      ...(fixture.launchTemplates ?? []),
      { name: 'lt-other', versions: [{ imageName: 'base-web' }] },
    ],
    launchConfigurations: [{ name: 'legacy-lc', imageName: 'base-web' }],
    groups: [
      ...(fixture.groups ?? []),
      { name: 'legacy', launchConfigurationName: 'legacy-lc', desiredCapacity: 0 },
      { name: 'pooled', launchTemplate: { name: 'lt-other' }, desiredCapacity: 0, maxSize: 1 },
    ],
  });
  baseWebImage = seeded.images['base-web'] ?? '';
  await autoScaling.send(new PutWarmPoolCommand({ AutoScalingGroupName: 'pooled' }));
  for (const use of Uses) policies[use] = await readPolicy(use);
}, 120_000);
afterAll(async () => {
  autoScaling?.destroy();
});

/** Runs one step of `use` and keeps the AWS calls it made (the test's own calls stay out). */
async function step(use: Use, run: () => Promise<ActionRun>): Promise<ActionRun> {
  const from = fleet().sim.calls.length;
  const result = await run();
  callsOf[use].push(...fleet().sim.calls.slice(from));
  expect(result.exitCode, transcript(result)).toBe(0);
  return result;
}

/** A volume a temporary instance of an earlier run left (its template kept volumes on termination). */
function leftoverVolume(): void {
  const { state } = fleet().sim;
  const id = state.id('vol');
  state.volumes.set(id, {
    VolumeId: id,
    State: 'available',
    Size: 8,
    CreateTime: new Date(Date.now() - 2 * 86_400_000),
    Attachments: [],
    Tags: [
      { Key: 'asg-rolling:managed', Value: 'true' },
      { Key: 'asg-rolling:role', Value: 'temporary-instance' },
      { Key: 'asg-rolling:run-id', Value: 'an-earlier-run' },
      { Key: 'asg-rolling:groups', Value: 'shop-web' },
    ],
  });
}

/** Someone else's refresh is running on a group: `cancel` needs CancelInstanceRefresh. */
async function foreignRefresh(group = 'shop-worker'): Promise<void> {
  await autoScaling.send(
    new StartInstanceRefreshCommand({
      AutoScalingGroupName: group,
      Preferences: { MinHealthyPercentage: 50, InstanceWarmup: 100_000 },
    }),
  );
}

/** The requests of a call, as built when the simulator answered it. */
function requestsOf(call: CallRecord): AuthRequest[] {
  const observed = call.observed as AuthRequest[] | { error: string } | undefined;
  if (!observed) throw new Error(`${call.action}: no request context was recorded`);
  if (!Array.isArray(observed)) throw new Error(`${call.action}: ${observed.error}`);
  return observed;
}

async function deniedBy(policy: Policy, requests: readonly AuthRequest[]): Promise<AuthRequest[]> {
  const decisions = await Promise.all(requests.map((r) => decide(filledIn(policy), r)));
  return requests.filter((_, i) => decisions[i] !== 'Allowed');
}

describe('the documented IAM policies', () => {
  it('allow every request of every command, and nothing any command does not need', async () => {
    // Each use that cleans up finds a volume left behind to delete.
    leftoverVolume();
    // Keeps its instances (launched from the base images, not ours): orphans for the cleanup below.
    const kept = await step('deploy', () =>
      fleet().main(fleet().inputs({ upload: 'build', 'keep-instances': 'true', 'cleanup-keep': '5' })),
    );
    await step('deploy', () => fleet().post(kept));
    ageEverything(fleet().sim);
    await foreignRefresh();
    const again = await step('deploy', () =>
      fleet().main(fleet().inputs({ upload: 'build', 'on-refresh-in-progress': 'cancel' })),
    );
    await step('deploy', () => fleet().post(again));

    leftoverVolume();
    ageEverything(fleet().sim);
    const setup = await step('split', () => fleet().main(fleet().inputs({ command: 'setup' })));
    await foreignRefresh();
    const finalize = await step('split', () =>
      fleet().main(
        fleet().inputs({ command: 'finalize', 'asg-tags': '', 'on-refresh-in-progress': 'cancel' }),
        {
          after: setup,
        },
      ),
    );
    await step('split', () => fleet().post(finalize, { after: finalize }));
    await step('split', () => fleet().post(setup, { after: finalize }));

    // One more image, every image kept: something for the cleanup below to delete.
    const more = await step('deploy', () =>
      fleet().main(fleet().inputs({ upload: 'build', 'cleanup-keep': '5' })),
    );
    await step('deploy', () => fleet().post(more));

    await foreignRefresh();
    await step('refresh', () =>
      fleet().main(fleet().inputs({ command: 'refresh', 'on-refresh-in-progress': 'cancel' })),
    );

    // The kept instances become orphans of an earlier run, two days old, like everything else.
    ageEverything(fleet().sim);
    leftoverVolume();
    for (const { instance } of fleet().sim.state.instances.values()) {
      if (!instance.Tags?.some((t) => t.Key === 'asg-rolling:role' && t.Value === 'temporary-instance'))
        continue;
      for (const tag of instance.Tags ?? []) {
        if (tag.Key === 'asg-rolling:run-id') tag.Value = 'an-earlier-run';
        if (tag.Key === 'asg-rolling:created-at')
          tag.Value = new Date(Date.now() - 2 * 86_400_000).toISOString();
      }
    }
    await step('cleanup', () => fleet().main(fleet().inputs({ command: 'cleanup', 'cleanup-keep': '1' })));
    await step('wait-idle', () => fleet().main(fleet().inputs({ command: 'wait-idle' })));
    // Back to the base image on lt-web (shop-web follows $Default: the default moves, the reference returns).
    await foreignRefresh('shop-api');
    await step('rollback', () =>
      fleet().main(
        fleet().inputs({
          command: 'rollback',
          'asg-tags': '',
          'asg-names': 'shop-web,shop-api',
          'rollback-to': baseWebImage,
          'on-refresh-in-progress': 'cancel',
        }),
      ),
    );

    const failures: string[] = [];
    const counts: Record<string, string> = {};
    for (const use of Uses) {
      const requests = callsOf[use].flatMap(requestsOf);
      for (const request of await deniedBy(policies[use], requests))
        failures.push(`${use}: denied ${describeRequest(request)}`);
      counts[use] = `${callsOf[use].length} calls, ${requests.length} requests`;

      // No unused permission: the policy allows exactly the actions the use's requests needed.
      const needed = [...new Set(requests.map((r) => r.action))].sort();
      const allowed = policies[use].Statement.flatMap(actionsOf);
      expect([...new Set(allowed)].sort(), `${use}: actions of docs/iam/${use}.json`).toEqual(needed);
    }
    expect(failures).toEqual([]);
    console.info(`IAM requests allowed per use: ${JSON.stringify(counts)}`);

    // Each destructive path really ran, so its permission was proved and not just listed.
    const seen = (use: Use): Set<string> => new Set(callsOf[use].map((c) => `${c.service}:${c.action}`));
    for (const use of ['deploy', 'split', 'cleanup'] as const)
      for (const action of [
        'ec2:DeleteLaunchTemplateVersions',
        'ec2:DeregisterImage',
        'ec2:TerminateInstances',
      ])
        expect(seen(use), use).toContain(action);
    for (const use of ['deploy', 'split', 'refresh', 'rollback'] as const)
      expect(seen(use), use).toContain('autoscaling:CancelInstanceRefresh');
    for (const action of ['ec2:RunInstances', 'ec2:CreateImage'])
      expect(seen('rollback'), 'rollback').not.toContain(action);
  }, 300_000);

  it('deny what they exist to stop', async () => {
    const cases = deniedCases(fleet().sim.state);
    const wrong: string[] = [];
    for (const c of cases) {
      const denied = await deniedBy(policies[c.use], c.requests);
      const reasons = [...new Set(denied.map((r) => `${r.action} ${r.why}`))].sort();
      if (JSON.stringify(reasons) !== JSON.stringify([...c.deniedBecause].sort()))
        wrong.push(
          `${c.use}: ${c.name}: denied ${JSON.stringify(reasons)}, expected ${JSON.stringify(c.deniedBecause)}`,
        );
    }
    expect(wrong).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(20);
    console.info(`IAM requests denied as they must be: ${cases.length} calls`);
  });

  it('are the same for deploy and split mode, and only Describe calls reach every resource', () => {
    expect(policies.split).toEqual(policies.deploy);
    for (const use of Uses) {
      const policy = policies[use];
      expect(policy.Version).toBe('2012-10-17');
      for (const statement of policy.Statement) {
        expect(statement.Effect).toBe('Allow');
        expect(statement.Sid).toBeTruthy();
        const describes = actionsOf(statement).every((a) => /^(ec2|autoscaling):Describe/.test(a));
        if (resourcesOf(statement).includes('*'))
          expect(describes, `${use} ${statement.Sid ?? ''}`).toBe(true);
        else expect(statement.Condition, `${use} ${statement.Sid ?? ''}`).toBeDefined();
      }
    }
  });
});
