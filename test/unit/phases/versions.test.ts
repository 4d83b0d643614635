import {
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingGroup,
  type DescribeAutoScalingGroupsCommandInput,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplatesCommand,
  ModifyLaunchTemplateCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { RollConfig } from '../../../src/config/index.js';
import { createLimiter } from '../../../src/lib/parallel.js';
import { createVersions, finishVersions, restoreReferences } from '../../../src/phases/versions.js';
import type { PlannedGroup, PlannedImage } from '../../../src/phases/plan.js';
import { RunReport } from '../../../src/report/summary.js';
import { testConfig, testContext } from '../../helpers/fakes.js';

const group = (extra: Partial<PlannedGroup> = {}): PlannedGroup => ({
  name: 'web',
  launchTemplateId: 'lt-1',
  launchTemplateName: 'web',
  version: 3,
  versionRef: '$Latest',
  mixedInstancesPolicy: undefined,
  sourceImageId: 'ami-old',
  versionDescription: '',
  ...extra,
});

const imageOf = (groups: PlannedGroup[]): PlannedImage => ({
  sourceImageId: 'ami-old',
  launchTemplateId: 'lt-1',
  version: 3,
  subnetIds: [],
  groups,
});

/** The groups as AWS describes them after a Successful refresh to version 7: pinned to the number. */
function describedGroups(extra: Partial<AutoScalingGroup> = {}) {
  return (input: DescribeAutoScalingGroupsCommandInput) => ({
    AutoScalingGroups: (input.AutoScalingGroupNames ?? []).map(
      (name) =>
        ({
          AutoScalingGroupName: name,
          LaunchTemplate: { LaunchTemplateId: 'lt-1', LaunchTemplateName: 'web', Version: '7' },
          ...extra,
        }) as AutoScalingGroup,
    ),
  });
}
const template = (defaultVersion: number, latestVersion: number) => ({
  LaunchTemplates: [
    { LaunchTemplateId: 'lt-1', DefaultVersionNumber: defaultVersion, LatestVersionNumber: latestVersion },
  ],
});

function setup(roll: Partial<RollConfig> = {}) {
  const base = testConfig();
  const ctx = testContext(testConfig({ roll: { ...base.roll, ...roll } }));
  const asg = mockClient(ctx.rt.autoScaling);
  const ec2 = mockClient(ctx.rt.ec2);
  asg.on(UpdateAutoScalingGroupCommand).resolves({});
  const finish = (groups: PlannedGroup[], rolled: Record<string, boolean>) =>
    finishVersions({
      image: imageOf(groups),
      versions: new Map([['lt-1:3', 7]]),
      rolled: new Map(Object.entries(rolled)),
      ctx,
      report: new RunReport(),
      limiter: createLimiter(4),
      log: ctx.rt.log.child('ami-old'),
    });
  return { ctx, asg, ec2, finish };
}

const updates = (asg: ReturnType<typeof setup>['asg']) =>
  asg.commandCalls(UpdateAutoScalingGroupCommand).map((c) => c.args[0].input);

describe('createVersions', () => {
  it('makes one version per template and source version, described as ours', async () => {
    const { ctx, ec2 } = setup();
    let next = 6;
    ec2.on(CreateLaunchTemplateVersionCommand).callsFake(() => ({
      LaunchTemplateVersion: { VersionNumber: ++next },
    }));
    const report = new RunReport();
    const versions = await createVersions({
      image: imageOf([group(), group({ name: 'api' }), group({ name: 'old', version: 2 })]),
      imageId: 'ami-new',
      ctx,
      report,
      log: ctx.rt.log,
    });
    expect([...versions]).toEqual([
      ['lt-1:3', 7],
      ['lt-1:2', 8],
    ]);
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)[0]?.args[0].input).toEqual({
      LaunchTemplateId: 'lt-1',
      SourceVersion: '3',
      VersionDescription: 'asg-rolling run 42-1 commit abcdef0',
      LaunchTemplateData: { ImageId: 'ami-new' },
    });
    expect(report.versions.map((v) => [v.version, v.groups])).toEqual([
      [7, ['web', 'api']],
      [8, ['old']],
    ]);
  });
});

describe('finishVersions: $Latest groups', () => {
  it('follow $Latest again once all rolled, reading the template once and the groups in one call', async () => {
    const { ctx, asg, ec2, finish } = setup();
    ec2.on(DescribeLaunchTemplatesCommand).resolves(template(3, 7));
    asg.on(DescribeAutoScalingGroupsCommand).callsFake(describedGroups());
    await finish([group(), group({ name: 'api' })], { web: true, api: true });
    expect(updates(asg)).toEqual([
      { AutoScalingGroupName: 'web', LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '$Latest' } },
      { AutoScalingGroupName: 'api', LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '$Latest' } },
    ]);
    expect(ec2.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(1);
    expect(asg.commandCalls(DescribeAutoScalingGroupsCommand).map((c) => c.args[0].input)).toEqual([
      { AutoScalingGroupNames: ['web', 'api'] },
    ]);
    expect(ctx.rt.log.lines).toContain(
      'info [web] The group follows $Latest of lt-1 again (version 7: no instance is replaced)',
    );
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)).toHaveLength(0);
  });

  it('keep the number, with a warning, when someone made a newer version meanwhile', async () => {
    const { ctx, asg, ec2, finish } = setup();
    ec2.on(DescribeLaunchTemplatesCommand).resolves(template(3, 8));
    asg.on(DescribeAutoScalingGroupsCommand).callsFake(describedGroups());
    await finish([group()], { web: true });
    expect(updates(asg)).toEqual([]);
    expect(ctx.rt.log.lines).toContain(
      'warning [web] the group names lt-1 version 7 by number, not $Latest: a newer version (8) of lt-1 was made meanwhile ' +
        'and $Latest would launch it; set it back to $Latest when that is what you want',
    );
  });

  it('a MixedInstancesPolicy group gets back its whole policy with only the spec replaced', async () => {
    const { asg, ec2, finish } = setup();
    const policy = {
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateId: 'lt-1', LaunchTemplateName: 'web', Version: '7' },
        Overrides: [{ InstanceType: 'm7g.large' }, { InstanceType: 'm6g.large', WeightedCapacity: '2' }],
      },
      InstancesDistribution: { OnDemandBaseCapacity: 1, SpotAllocationStrategy: 'price-capacity-optimized' },
    };
    ec2.on(DescribeLaunchTemplatesCommand).resolves(template(3, 7));
    asg
      .on(DescribeAutoScalingGroupsCommand)
      .callsFake(describedGroups({ LaunchTemplate: undefined, MixedInstancesPolicy: policy }));
    await finish([group({ mixedInstancesPolicy: policy })], { web: true });
    expect(updates(asg)).toEqual([
      {
        AutoScalingGroupName: 'web',
        MixedInstancesPolicy: {
          LaunchTemplate: {
            LaunchTemplateSpecification: { LaunchTemplateId: 'lt-1', Version: '$Latest' },
            Overrides: policy.LaunchTemplate.Overrides,
          },
          InstancesDistribution: policy.InstancesDistribution,
        },
      },
    ]);
  });

  it('a failing update is a warning saying what the group points at', async () => {
    const { ctx, asg, ec2, finish } = setup();
    ec2.on(DescribeLaunchTemplatesCommand).resolves(template(3, 7));
    asg.on(DescribeAutoScalingGroupsCommand).callsFake(describedGroups());
    asg
      .on(UpdateAutoScalingGroupCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    await finish([group()], { web: true });
    expect(ctx.rt.log.lines).toContain(
      'warning [web] the refresh succeeded, but the group names lt-1 version 7 by number instead of $Latest: ' +
        'Could not update Auto Scaling group web: not authorized. Set its launch template version back to $Latest',
    );
  });

  it('after a failed roll, a copy of the old version makes $Latest launch the old image again', async () => {
    const { ctx, asg, ec2, finish } = setup();
    ec2.on(DescribeLaunchTemplatesCommand).resolves(template(3, 7));
    ec2.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 8 } });
    await finish([group(), group({ name: 'api' })], { web: false, api: true });
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand).map((c) => c.args[0].input)).toEqual([
      {
        LaunchTemplateId: 'lt-1',
        SourceVersion: '3',
        VersionDescription: 'asg-rolling run 42-1 revert',
        LaunchTemplateData: { ImageId: 'ami-old' },
      },
    ]);
    expect(ctx.rt.log.lines).toContain(
      'warning [ami-old] web did not roll out lt-1 version 7, which $Latest launched: created version 8 from ' +
        'version 3 (ami-old), so $Latest launches the old image again',
    );
    // api rolled, but $Latest goes back to the old image: it keeps the number, and nothing is described for it.
    expect(updates(asg)).toEqual([]);
    expect(asg.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(0);
    expect(
      ctx.rt.log.lines.some((l) => l.startsWith('warning [api] the group names lt-1 version 7 by number')),
    ).toBe(true);
  });

  it('leave $Latest alone when it is not ours any more, or when the outcome is unknown', async () => {
    const newer = setup();
    newer.ec2.on(DescribeLaunchTemplatesCommand).resolves(template(3, 9));
    await newer.finish([group()], { web: false });
    expect(newer.ec2.commandCalls(CreateLaunchTemplateVersionCommand)).toHaveLength(0);

    const unknown = setup({ waitForRefresh: false });
    await unknown.finish([group()], { web: true });
    expect(unknown.ec2.calls()).toHaveLength(0);
    expect(unknown.asg.calls()).toHaveLength(0);
  });

  it('a failed revert is a warning that says how to go back', async () => {
    const { ctx, ec2, finish } = setup();
    ec2.on(DescribeLaunchTemplatesCommand).resolves(template(3, 7));
    ec2.on(CreateLaunchTemplateVersionCommand).rejects(new Error('VersionLimitExceeded'));
    await finish([group()], { web: false });
    expect(ctx.rt.log.lines.at(-1)).toMatch(
      /^warning \[ami-old\] \$Latest of lt-1 still launches version 7, which web did not roll out: .*VersionLimitExceeded.*Create a version from version 3/,
    );
  });
});

describe('finishVersions: $Default groups', () => {
  it('promotes the version, then sets the groups back to $Default', async () => {
    const { asg, ec2, finish } = setup();
    ec2.on(ModifyLaunchTemplateCommand).resolves({});
    ec2.on(DescribeLaunchTemplatesCommand).resolves(template(7, 7));
    asg.on(DescribeAutoScalingGroupsCommand).callsFake(describedGroups());
    await finish([group({ versionRef: '$Default' })], { web: true });
    expect(ec2.commandCalls(ModifyLaunchTemplateCommand)[0]?.args[0].input).toEqual({
      LaunchTemplateId: 'lt-1',
      DefaultVersion: '7',
    });
    expect(updates(asg)).toEqual([
      { AutoScalingGroupName: 'web', LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '$Default' } },
    ]);
  });

  it('keeps the default when one follower failed, and tells the others why they keep the number', async () => {
    const { ctx, asg, ec2, finish } = setup();
    await finish([group({ versionRef: '$Default' }), group({ name: 'api', versionRef: '$Default' })], {
      web: true,
      api: false,
    });
    expect(ec2.calls()).toHaveLength(0);
    expect(asg.calls()).toHaveLength(0);
    expect(ctx.rt.log.lines).toContain(
      'warning [ami-old] lt-1 keeps its default version: api did not roll out version 7',
    );
    expect(
      ctx.rt.log.lines.some((l) =>
        l.startsWith('warning [web] the group names lt-1 version 7 by number, not $Default: api'),
      ),
    ).toBe(true);
  });
});

describe('restoreReferences', () => {
  it('leaves a group alone that was changed meanwhile', async () => {
    const { ctx, asg, ec2 } = setup();
    ec2.on(DescribeLaunchTemplatesCommand).resolves(template(7, 7));
    asg
      .on(DescribeAutoScalingGroupsCommand)
      .callsFake(describedGroups({ LaunchTemplate: { LaunchTemplateId: 'lt-9', Version: '2' } }));
    await restoreReferences({ restores: [{ group: group({ versionRef: '$Default' }), newVersion: 7 }], ctx });
    expect(updates(asg)).toEqual([]);
    expect(ctx.rt.log.lines).toContain(
      'warning [web] left as it is, not set back to $Default: it was changed meanwhile and names lt-9 version 2',
    );
  });

  it('a failing Describe is a warning for every group', async () => {
    const { ctx, ec2 } = setup();
    ec2.on(DescribeLaunchTemplatesCommand).rejects(new Error('socket hang up'));
    await restoreReferences({
      restores: [
        { group: group({ versionRef: '$Default' }), newVersion: 7 },
        { group: group({ name: 'api' }), newVersion: 7 },
      ],
      ctx,
    });
    expect(
      ctx.rt.log.lines.filter((l) =>
        /^warning \[(web|api)\] the refresh succeeded, but .*socket hang up/.test(l),
      ),
    ).toHaveLength(2);
  });

  it('one template gone fails only its own groups: the others follow their reference again', async () => {
    const { ctx, asg, ec2 } = setup();
    // AWS refuses the whole DescribeLaunchTemplates call when one of its ids does not exist.
    ec2.on(DescribeLaunchTemplatesCommand).callsFake((input: { LaunchTemplateIds?: string[] }) => {
      if (input.LaunchTemplateIds?.includes('lt-gone')) {
        throw Object.assign(
          new Error('The specified launch template, with template ID lt-gone, does not exist.'),
          {
            name: 'InvalidLaunchTemplateId.NotFound',
            $metadata: { httpStatusCode: 400 },
          },
        );
      }
      return template(7, 7);
    });
    asg.on(DescribeAutoScalingGroupsCommand).callsFake(describedGroups());
    await restoreReferences({
      restores: [
        { group: group({ versionRef: '$Default' }), newVersion: 7 },
        { group: group({ name: 'api', launchTemplateId: 'lt-gone' }), newVersion: 7 },
      ],
      ctx,
    });
    expect(updates(asg)).toEqual([
      { AutoScalingGroupName: 'web', LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '$Default' } },
    ]);
    expect(ctx.rt.log.lines).toContain(
      'warning [api] the group names lt-gone version 7 by number, not $Latest: launch template lt-gone is gone, so there is no $Latest to follow',
    );
    expect(
      ec2.commandCalls(DescribeLaunchTemplatesCommand).map((c) => c.args[0].input.LaunchTemplateIds),
    ).toEqual([['lt-1', 'lt-gone'], ['lt-1'], ['lt-gone']]);
  });

  it('describes groups 50 names a call', async () => {
    const { ctx, asg, ec2 } = setup();
    ec2.on(DescribeLaunchTemplatesCommand).resolves(template(3, 7));
    asg.on(DescribeAutoScalingGroupsCommand).callsFake(describedGroups());
    const restores = Array.from({ length: 120 }, (_, n) => ({
      group: group({ name: `g${n}` }),
      newVersion: 7,
    }));
    await restoreReferences({ restores, ctx });
    expect(
      asg
        .commandCalls(DescribeAutoScalingGroupsCommand)
        .map((c) => c.args[0].input.AutoScalingGroupNames?.length),
    ).toEqual([50, 50, 20]);
    expect(ec2.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(1);
    expect(updates(asg)).toHaveLength(120);
  });
});
