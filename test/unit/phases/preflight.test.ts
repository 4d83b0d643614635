/** The permission preflight: which calls each mode checks, and how EC2's DryRun answers read. */
import {
  CreateImageCommand,
  CreateLaunchTemplateVersionCommand,
  ModifyLaunchTemplateCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { checkPermissions, pipelineTargets } from '../../../src/phases/preflight.js';
import type { DeployPlan } from '../../../src/phases/plan.js';
import { plannedGroup, plannedImage, testConfig, testContext } from '../../helpers/fakes.js';

const web = plannedGroup();
const api = plannedGroup({ name: 'api', versionRef: '$Default' });
const plan: DeployPlan = { images: [plannedImage([web, api])], failures: [], warnings: [] };
const config = testConfig();
const setupInstance = {
  instanceId: 'i-1',
  address: '127.0.0.5',
  sourceImageId: 'ami-old',
  groups: ['web', 'api'],
};

/** An error as the SDK throws it for an EC2 error code. */
const awsError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

describe('pipelineTargets', () => {
  it('deploy: one launch per image, one version per template, a promotion for $Default', () => {
    const targets = pipelineTargets(plan, 'deploy', { config });
    expect(targets.launches).toHaveLength(1);
    expect(targets.versions.map((v) => v.group.name)).toEqual(['web']);
    expect(targets.defaults.map((g) => g.name)).toEqual(['api']);
    expect(targets.instances).toEqual([]);
    expect(targets.afterLaunch).toEqual(['ec2:StopInstances', 'ec2:CreateImage', 'ec2:TerminateInstances']);
    expect(targets.autoScaling).toContain('autoscaling:UpdateAutoScalingGroup');
  });

  it('setup launches only; finalize checks the prepared instance instead of a launch', () => {
    const setup = pipelineTargets(plan, 'setup', { config });
    expect([setup.launches.length, setup.versions.length, setup.autoScaling.length]).toEqual([1, 0, 0]);
    const finalize = pipelineTargets(plan, 'finalize', { config }, new Map([['ami-old', setupInstance]]));
    expect(finalize.launches).toEqual([]);
    expect(finalize.instances.map((i) => i.instance.instanceId)).toEqual(['i-1']);
    expect(finalize.afterLaunch).toEqual([]);
  });

  it('a reused image launches nothing; its versions are checked with the reused AMI', () => {
    const reused = new Map([['ami-old', { imageId: 'ami-baked', runId: '7-1' }]]);
    const targets = pipelineTargets(plan, 'deploy', { config }, undefined, reused);
    expect(targets.launches).toEqual([]);
    expect(targets.afterLaunch).toEqual([]);
    expect(targets.versions.map((v) => v.imageId)).toEqual(['ami-baked']);
  });
});

describe('checkPermissions', () => {
  it('reads DryRunOperation as allowed, UnauthorizedOperation as denied, anything else as failed', async () => {
    const ctx = testContext();
    const ec2 = mockClient(ctx.rt.ec2);
    ec2.on(RunInstancesCommand).rejects(awsError('DryRunOperation', 'Request would have succeeded'));
    ec2
      .on(CreateLaunchTemplateVersionCommand)
      .rejects(
        awsError('UnauthorizedOperation', 'not authorized to perform: ec2:CreateLaunchTemplateVersion'),
      );
    ec2
      .on(ModifyLaunchTemplateCommand)
      .rejects(awsError('InvalidLaunchTemplateId.NotFound', 'no such template'));
    const checks = await checkPermissions(pipelineTargets(plan, 'deploy', { config }), ctx);
    const byAction = Object.fromEntries(checks.map((c) => [c.action, c]));
    expect(byAction['ec2:RunInstances']).toMatchObject({
      outcome: 'allowed',
      target: 'lt-1 version 4 in subnet-a',
    });
    expect(byAction['ec2:CreateLaunchTemplateVersion']).toMatchObject({
      outcome: 'denied',
      detail: 'UnauthorizedOperation: not authorized to perform: ec2:CreateLaunchTemplateVersion',
    });
    expect(byAction['ec2:ModifyLaunchTemplate']?.outcome).toBe('failed');
    expect(byAction['ec2:CreateImage']?.outcome).toBe('not checkable');
    expect(byAction['autoscaling:StartInstanceRefresh']?.outcome).toBe('not checkable');
    // Every request was a DryRun, made as the real one would be.
    const launch = ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(launch).toMatchObject({
      DryRun: true,
      SubnetId: 'subnet-a',
      LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '4' },
    });
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)[0]?.args[0].input).toMatchObject({
      DryRun: true,
      SourceVersion: '4',
      LaunchTemplateData: { ImageId: 'ami-old' },
    });
  });

  it('finalize: checks stop, image and terminate on the instance setup prepared', async () => {
    const ctx = testContext();
    const ec2 = mockClient(ctx.rt.ec2);
    ec2.rejects(awsError('DryRunOperation', 'Request would have succeeded'));
    const targets = pipelineTargets(plan, 'finalize', { config }, new Map([['ami-old', setupInstance]]));
    const checks = await checkPermissions(targets, ctx);
    expect(checks.filter((c) => c.target === 'i-1').map((c) => [c.action, c.outcome])).toEqual([
      ['ec2:StopInstances', 'allowed'],
      ['ec2:CreateImage', 'allowed'],
      ['ec2:TerminateInstances', 'allowed'],
    ]);
    const dryRuns = [
      ec2.commandCalls(StopInstancesCommand)[0]?.args[0].input.DryRun,
      ec2.commandCalls(CreateImageCommand)[0]?.args[0].input.DryRun,
      ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input.DryRun,
    ];
    expect(dryRuns).toEqual([true, true, true]);
  });
});
