// Termination and stop protection, as the EC2 User Guide describes them:
//   "Change instance termination protection"
//   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_ChangingDisableAPITermination.html
//   "Enable stop protection for your EC2 instances" (stop protection also blocks termination)
//   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-stop-protection.html
// A protected instance refuses TerminateInstances (and, with stop protection, StopInstances) with
// OperationNotPermitted; RunInstances' own DisableApiTermination/DisableApiStop win over the template's.
import {
  CreateLaunchTemplateCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { buildFixture, startSimulator, type Simulator } from './index.js';
import { clients, rejection } from './testkit.js';

let sim: Simulator;
let ec2: ReturnType<typeof clients>['ec2'];
let imageId: string;

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0.001 });
  ({ ec2 } = clients(sim));
});
afterAll(async () => {
  await sim.stop();
});
beforeEach(async () => {
  await sim.reset();
  imageId = sim.seed(buildFixture({ groups: 1, instancesPerGroup: 0 })).images['shop-base-0'] ?? '';
});

async function templateWith(
  name: string,
  data: { DisableApiTermination?: boolean; DisableApiStop?: boolean },
) {
  const created = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: { ImageId: imageId, ...data },
    }),
  );
  return created.LaunchTemplate?.LaunchTemplateId ?? '';
}

async function launch(
  templateId: string,
  overrides: { DisableApiTermination?: boolean; DisableApiStop?: boolean } = {},
) {
  const res = await ec2.send(
    new RunInstancesCommand({
      LaunchTemplate: { LaunchTemplateId: templateId, Version: '$Latest' },
      MinCount: 1,
      MaxCount: 1,
      ...overrides,
    }),
  );
  return res.Instances?.[0]?.InstanceId ?? '';
}

describe('termination and stop protection', () => {
  it("a template's DisableApiTermination refuses TerminateInstances, not StopInstances", async () => {
    const id = await launch(await templateWith('protected', { DisableApiTermination: true }));
    const refused = await rejection(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
    expect(refused.name).toBe('OperationNotPermitted');
    expect(refused.message).toContain(`'${id}' may not be terminated`);
    expect(refused.message).toContain('disableApiTermination');
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect(sim.state.instances.get(id)?.instance.State?.Name).toBe('stopping');
  });

  it("a template's DisableApiStop refuses both StopInstances and TerminateInstances", async () => {
    const id = await launch(await templateWith('stop-protected', { DisableApiStop: true }));
    for (const command of [
      new StopInstancesCommand({ InstanceIds: [id] }),
      new TerminateInstancesCommand({ InstanceIds: [id] }),
    ]) {
      const refused = await rejection(ec2.send(command));
      expect(refused.name).toBe('OperationNotPermitted');
      expect(refused.message).toContain('disableApiStop');
    }
    expect(sim.state.instances.get(id)?.instance.State?.Name).not.toMatch(/stopping|shutting-down/);
  });

  it('one protected instance fails the whole request: no instance changes state', async () => {
    const open = await launch(await templateWith('open', {}));
    const locked = await launch(await templateWith('locked', { DisableApiTermination: true }));
    const refused = await rejection(ec2.send(new TerminateInstancesCommand({ InstanceIds: [open, locked] })));
    expect(refused.name).toBe('OperationNotPermitted');
    expect(sim.state.instances.get(open)?.instance.State?.Name).not.toBe('shutting-down');
  });

  it("RunInstances' DisableApiTermination: false and DisableApiStop: false override the template", async () => {
    const templateId = await templateWith('both', { DisableApiTermination: true, DisableApiStop: true });
    const id = await launch(templateId, { DisableApiTermination: false, DisableApiStop: false });
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(sim.state.instances.get(id)?.instance.State?.Name).toBe('shutting-down');
  });
});
