/**
 * Groups whose launch template names its image through a Systems Manager parameter
 * (`resolve:ssm:<name>`, as teams that follow the latest Amazon Linux do): the built action deploys
 * them by the AMI the parameter holds when it plans, shares one temporary instance with any group
 * on that same AMI, bakes from exactly that AMI even if the parameter moves meanwhile, and the new
 * version names the baked AMI.
 */
import { describe, expect, it } from 'vitest';
import type { Fixture } from '../sim/index.js';
import {
  errors,
  output,
  temporaryInstances,
  transcript,
  useFleet,
  type RefreshOutput,
} from '../helpers/fleet.js';

const parameter = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64';
const tags = { app: 'shop' };
/**
 * a-ssm and c-ssm-number follow the parameter through lt-ssm version 1 ($Default, and by number,
 * where AWS refuses auto rollback); b-plain names the same AMI directly.
 */
const fixture: Fixture = {
  images: [{ name: 'al2023-now' }, { name: 'al2023-next' }],
  parameters: [{ name: parameter, imageName: 'al2023-now' }],
  launchTemplates: [
    { name: 'lt-ssm', versions: [{ data: { ImageId: `resolve:ssm:${parameter}` } }] },
    { name: 'lt-plain', versions: [{ imageName: 'al2023-now' }] },
  ],
  groups: [
    { name: 'a-ssm', launchTemplate: { name: 'lt-ssm', version: '$Default' }, tags },
    { name: 'b-plain', launchTemplate: { name: 'lt-plain', version: '1' }, tags },
    { name: 'c-ssm-number', launchTemplate: { name: 'lt-ssm', version: '1' }, tags },
  ],
};

const fleet = useFleet({ seed: fixture });

describe('resolve:ssm: launch templates', () => {
  it('deploys by the resolved AMI, bakes from it even when the parameter moves, and names the baked AMI', async () => {
    const { sim } = fleet();
    const now = fleet.seeded().images['al2023-now'] ?? '';
    const next = fleet.seeded().images['al2023-next'] ?? '';
    // The parameter moves to a newer image just as the temporary instance launches.
    sim.world.observer = (call, state) => {
      if (call.action === 'RunInstances') state.parameters.set(parameter, next);
    };
    try {
      const main = await fleet().main(fleet().inputs({ upload: 'build' }));
      expect(main.exitCode, transcript(main)).toBe(0);
      expect(errors(main)).toEqual([]);
      expect(output<RefreshOutput[]>(main, 'instance-refreshes').map((r) => r.status)).toEqual([
        'Successful',
        'Successful',
        'Successful',
      ]);
      const off = main.annotations.find((a) => a.message.startsWith('[c-ssm-number] auto-rollback is off'));
      expect(off?.message).toContain(
        `[c-ssm-number] auto-rollback is off for this refresh: AWS cannot roll back to a version whose image is resolve:ssm:${parameter}`,
      );

      // One temporary instance for both groups, booted from the AMI the plan resolved.
      const temporary = temporaryInstances(sim);
      expect(temporary.map((i) => i.ImageId)).toEqual([now]);
      const amis = output<{ imageId: string; sourceImageId: string; groups: string[] }[]>(main, 'amis');
      expect(amis.map((a) => [a.sourceImageId, [...a.groups].sort()])).toEqual([
        [now, ['a-ssm', 'b-plain', 'c-ssm-number']],
      ]);
      const baked = amis[0]?.imageId ?? '';

      // The new version names the baked AMI: the group no longer follows the parameter.
      const ssm = sim.state.templateByName('lt-ssm');
      expect(ssm?.versions.get(1)?.LaunchTemplateData?.ImageId).toBe(`resolve:ssm:${parameter}`);
      expect(ssm?.versions.get(2)?.LaunchTemplateData?.ImageId).toBe(baked);
      expect(ssm?.template.DefaultVersionNumber).toBe(2);
      const members = sim.state.groups.get('a-ssm')?.Instances ?? [];
      expect(members.map((m) => sim.state.instances.get(m.InstanceId ?? '')?.instance.ImageId)).toEqual([
        baked,
        baked,
      ]);
    } finally {
      sim.world.observer = undefined;
    }
  }, 180_000);
});
