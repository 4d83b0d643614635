/**
 * The built action launching temporary instances the way AWS takes RunInstances: a mixed instances
 * group whose template names no type (AWS would launch m1.small, which boots no arm64 image), a
 * template of network interfaces (the subnet must go on the interface), a lost RunInstances answer
 * (the retry's ClientToken finds the first instance), a subnet deleted since the group was set up,
 * and fresh instances and images that describes do not see yet.
 */
import { describe, expect, it } from 'vitest';
import type { Fixture } from '../sim/index.js';
import { DeployScript, errors, orphans, temporaryInstances, transcript, useFleet } from '../helpers/fleet.js';

const fleet = useFleet();

async function seeded(fixture: Fixture): Promise<void> {
  const { sim } = fleet();
  await sim.reset();
  sim.seed(fixture);
}

const deploy = () => fleet().main(fleet().inputs({ 'deploy-script': DeployScript }));

/** One group over one image and template version; `extra` shapes the template or the group. */
function oneGroup(options: {
  readonly data?: NonNullable<NonNullable<Fixture['launchTemplates']>[number]['versions'][number]['data']>;
  readonly noInstanceType?: boolean;
  readonly architecture?: 'arm64' | 'x86_64';
  readonly instanceTypes?: string[];
  readonly subnets?: string[];
}): Fixture {
  return {
    images: [{ name: 'base', ...(options.architecture ? { architecture: options.architecture } : {}) }],
    launchTemplates: [
      {
        name: 'lt-shop',
        versions: [
          {
            imageName: 'base',
            ...(options.data ? { data: options.data } : {}),
            ...(options.noInstanceType ? { noInstanceType: true } : {}),
          },
        ],
      },
    ],
    groups: [
      {
        name: 'shop-web',
        launchTemplate: { name: 'lt-shop', version: '1' },
        tags: { app: 'shop' },
        desiredCapacity: 1,
        ...(options.instanceTypes
          ? { mixedInstancesPolicy: true, instanceTypes: options.instanceTypes }
          : {}),
        ...(options.subnets ? { subnets: options.subnets } : {}),
      },
    ],
  };
}

describe('instance type', () => {
  it("launches a mixed instances group's arm64 image as the policy's first type when the template names none", async () => {
    await seeded(
      oneGroup({ noInstanceType: true, architecture: 'arm64', instanceTypes: ['t4g.micro', 'm6g.medium'] }),
    );
    const run = await deploy();
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(temporaryInstances(fleet().sim).map((i) => i.InstanceType)).toEqual(['t4g.micro']);
  });

  it('fails a group of attribute-based types, naming it, before launching anything', async () => {
    await seeded(oneGroup({ noInstanceType: true, instanceTypes: [] }));
    const group = fleet().sim.state.groups.get('shop-web');
    const policy = group?.MixedInstancesPolicy?.LaunchTemplate;
    if (policy)
      policy.Overrides = [{ InstanceRequirements: { VCpuCount: { Min: 2 }, MemoryMiB: { Min: 2048 } } }];
    const run = await deploy();
    expect(run.exitCode, transcript(run)).toBe(1);
    expect(errors(run).join('\n')).toMatch(/shop-web.*InstanceRequirements/s);
    expect(temporaryInstances(fleet().sim)).toEqual([]);
  });
});

describe('network interfaces', () => {
  it("launches an interface template in the group's subnet and keeps the interface's settings", async () => {
    await seeded(
      oneGroup({
        data: {
          NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: true, Groups: ['sg-0web'] }],
        },
        subnets: ['subnet-0cccc000000000003', 'subnet-0dddd000000000004'],
      }),
    );
    const run = await deploy();
    expect(run.exitCode, transcript(run)).toBe(0);
    const [instance] = temporaryInstances(fleet().sim);
    expect(instance?.SubnetId).toBe('subnet-0cccc000000000003');
    expect(instance?.SecurityGroups?.map((g) => g.GroupId)).toEqual(['sg-0web']);
  });
});

describe('ClientToken', () => {
  it('starts one instance when the answer of a launch AWS carried out is lost and the SDK retries', async () => {
    await seeded(oneGroup({}));
    fleet().sim.faults.add({
      kind: 'api',
      action: 'RunInstances',
      nth: 1,
      afterEffect: true,
      error: 'server',
    });
    const run = await deploy();
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(fleet().sim.sent('RunInstances')).toHaveLength(2);
    expect(temporaryInstances(fleet().sim)).toHaveLength(1);
    expect(orphans(fleet().sim)).toEqual([]);
  });
});

describe('subnets', () => {
  it("goes on to the group's next subnet when one no longer exists", async () => {
    await seeded(oneGroup({ subnets: ['subnet-0dead000000000009', 'subnet-0cccc000000000003'] }));
    fleet().sim.state.subnets.delete('subnet-0dead000000000009');
    const run = await deploy();
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(temporaryInstances(fleet().sim).map((i) => i.SubnetId)).toEqual(['subnet-0cccc000000000003']);
  });

  it('fails the group naming every subnet tried when none exists', async () => {
    await seeded(oneGroup({ subnets: ['subnet-0dead000000000009', 'subnet-0dead00000000000a'] }));
    fleet().sim.state.subnets.clear();
    const run = await deploy();
    expect(run.exitCode, transcript(run)).toBe(1);
    const text = errors(run).join('\n');
    expect(text).toContain('subnet-0dead000000000009');
    expect(text).toContain('subnet-0dead00000000000a');
    expect(text).toContain('InvalidSubnetID.NotFound');
  });
});

describe('eventual consistency', () => {
  it('deploys while fresh instances and images stay unseen by describes for 30 simulated seconds', async () => {
    await seeded(oneGroup({}));
    fleet().sim.setLatency({ consistency: { instances: 30_000, images: 30_000 } });
    try {
      const run = await deploy();
      expect(run.exitCode, transcript(run)).toBe(0);
      const missed = fleet().sim.calls.filter(
        (c) => c.action === 'DescribeInstances' || c.action === 'DescribeImages',
      );
      expect(missed.some((c) => c.outcome === 'error')).toBe(false);
    } finally {
      fleet().sim.setLatency({ consistency: { instances: 2_000, images: 2_000 } });
    }
  });
});
