// Auto Scaling actions: groups (Create/Update/Delete/DescribeAutoScalingGroups; an update's launch
// template or MixedInstancesPolicy as AWS applies and describes it), DescribeLaunchConfigurations and
// Instance Refresh (Start/Describe/Cancel/RollbackInstanceRefresh).
import type {
  AutoScalingGroup,
  AutoScalingGroupNamesType,
  AutoScalingGroupsType,
  CancelInstanceRefreshAnswer,
  CancelInstanceRefreshType,
  CreateAutoScalingGroupType,
  DeleteAutoScalingGroupType,
  DescribeInstanceRefreshesAnswer,
  LaunchTemplateSpecification,
  MixedInstancesPolicy,
  DescribeInstanceRefreshesType,
  LaunchConfigurationNamesType,
  LaunchConfigurationsType,
  RollbackInstanceRefreshAnswer,
  RollbackInstanceRefreshType,
  StartInstanceRefreshAnswer,
  StartInstanceRefreshType,
  UpdateAutoScalingGroupType,
} from '@aws-sdk/client-auto-scaling';

import { SimError, validation } from './errors.js';
import { applyFilters, paginate, type FilterSpec } from './filters.js';
import { launchGroupInstance, liveMembers, resolveSpec, specOf } from './groups.js';
import { op, type Handler } from './handler.js';
import { isSsmImage } from './parameters.js';
import { terminateInstance } from './instances.js';
import { cancel, isActive, rollback, startRefresh } from './refresh.js';
import type { RefreshRecord } from './state.js';
import type { World } from './world.js';

const groupFilters: FilterSpec<AutoScalingGroup> = {
  fields: {},
  tags: (g) => g.Tags,
  invalid: (name) => validation(`The filter name '${name}' is not valid.`),
};

/**
 * Every action's AutoScalingGroupName: 1 to 255 characters of XML text (tab, newline and carriage
 * return are the only control characters allowed).
 */
const xmlText = /^[\t\n\r\u0020-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

function checkNameMember(name: string): void {
  if (name.length < 1 || name.length > 255 || !xmlText.test(name)) {
    throw validation(
      `1 validation error detected: Value '${name}' at 'autoScalingGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]* and have length between 1 and 255`,
    );
  }
}

/** A new group's name: printable ASCII (33 to 126) without a colon, at most 255 characters. */
function checkNewGroupName(name: string): void {
  checkNameMember(name);
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
    throw validation(
      `The name '${name}' is not valid: an Auto Scaling group name can contain ASCII characters 33 to 126 except the colon (:).`,
    );
  }
}

export function getGroup(world: World, name: string | undefined): AutoScalingGroup {
  checkNameMember(name ?? '');
  const g = world.state.groups.get(name ?? '');
  if (!g) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
  return g;
}

function checkMaxRecords(max: number | undefined): number {
  if (max === undefined) return 50;
  if (max < 1 || max > 100)
    throw validation(
      `1 validation error detected: Value '${max}' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100`,
    );
  return max;
}

/** Launches or terminates members until the group holds DesiredCapacity live instances. */
export function scaleTo(world: World, g: AutoScalingGroup, opts: { running?: boolean } = {}): void {
  const live = liveMembers(g);
  const want = g.DesiredCapacity ?? 0;
  for (let i = live.length; i < want; i++) launchGroupInstance(world, g, opts);
  for (const m of live.slice(want)) {
    const r = world.state.instances.get(m.InstanceId ?? '');
    if (r) terminateInstance(world, r);
  }
}

export function createGroup(
  world: World,
  input: CreateAutoScalingGroupType,
  opts: { running?: boolean } = {},
): AutoScalingGroup {
  const name = input.AutoScalingGroupName ?? '';
  if (!name) throw validation('AutoScalingGroupName is required');
  checkNewGroupName(name);
  if (world.state.groups.has(name)) {
    throw new SimError(
      'AlreadyExists',
      `AutoScalingGroup by this name already exists - A group with the name ${name} already exists`,
    );
  }
  if (!input.LaunchConfigurationName) resolveSpec(world, specOf(input));
  const min = input.MinSize ?? 0;
  const max = input.MaxSize ?? 0;
  const desired = input.DesiredCapacity ?? min;
  if (min > max || desired < min || desired > max) {
    throw validation(
      `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`,
    );
  }
  const g: AutoScalingGroup = {
    AutoScalingGroupName: name,
    AutoScalingGroupARN: `arn:aws:autoscaling:${world.state.region}:${world.state.accountId}:autoScalingGroup:${world.state.uuid()}:autoScalingGroupName/${name}`,
    // Stored and described with both id and name, as AWS does, whichever one was given.
    LaunchTemplate: input.LaunchTemplate && storedSpec(world, input.LaunchTemplate),
    MixedInstancesPolicy:
      input.MixedInstancesPolicy && mergedPolicy(world, undefined, input.MixedInstancesPolicy),
    LaunchConfigurationName: input.LaunchConfigurationName,
    MinSize: min,
    MaxSize: max,
    DesiredCapacity: desired,
    DefaultCooldown: input.DefaultCooldown ?? 300,
    AvailabilityZones: input.AvailabilityZones ?? [`${world.state.region}a`, `${world.state.region}b`],
    HealthCheckType: input.HealthCheckType ?? 'EC2',
    HealthCheckGracePeriod: input.HealthCheckGracePeriod ?? 0,
    DefaultInstanceWarmup: input.DefaultInstanceWarmup,
    Instances: [],
    CreatedTime: world.clock.now(),
    VPCZoneIdentifier: input.VPCZoneIdentifier,
    TerminationPolicies: ['Default'],
    NewInstancesProtectedFromScaleIn: false,
    CapacityRebalance: false,
    TrafficSources: [],
    Tags: (input.Tags ?? []).map((t) => ({
      ResourceId: name,
      ResourceType: 'auto-scaling-group',
      Key: t.Key,
      Value: t.Value ?? '',
      PropagateAtLaunch: t.PropagateAtLaunch ?? false,
    })),
  };
  world.state.groups.set(name, g);
  if (!g.LaunchConfigurationName) scaleTo(world, g, opts);
  return g;
}

const describeGroups = op((input: AutoScalingGroupNamesType, world: World): AutoScalingGroupsType => {
  const names = input.AutoScalingGroupNames ?? [];
  // Unknown names are silently absent, as in AWS.
  const source = names.length
    ? names.flatMap((n) => world.state.groups.get(n) ?? [])
    : world.state.groups.values();
  const matching = applyFilters(source, input.Filters, groupFilters);
  const { page, next } = paginate(matching, {
    token: input.NextToken,
    max: checkMaxRecords(input.MaxRecords),
    invalidTokenCode: 'InvalidNextToken',
  });
  return { AutoScalingGroups: page, NextToken: next };
});

const describeLaunchConfigurations = op(
  (input: LaunchConfigurationNamesType, world: World): LaunchConfigurationsType => {
    const names = input.LaunchConfigurationNames ?? [];
    if (names.length > 50)
      throw validation(
        `1 validation error detected: Value at 'launchConfigurationNames' failed to satisfy constraint: Member must have length less than or equal to 50`,
      );
    // Unknown names are silently absent, as in AWS.
    const all = names.length
      ? names.flatMap((n) => world.state.launchConfigurations.get(n) ?? [])
      : [...world.state.launchConfigurations.values()];
    const { page, next } = paginate(all, {
      token: input.NextToken,
      max: checkMaxRecords(input.MaxRecords),
      invalidTokenCode: 'InvalidNextToken',
    });
    return { LaunchConfigurations: page, NextToken: next };
  },
);

/**
 * The launch template spec as AWS stores and describes it: id and name both filled in, the version
 * exactly as given (`$Latest` and `$Default` stay symbolic; AWS resolves them at each launch).
 */
function storedSpec(world: World, spec: LaunchTemplateSpecification): LaunchTemplateSpecification {
  const resolved = resolveSpec(world, spec);
  return {
    LaunchTemplateId: resolved.LaunchTemplateId,
    LaunchTemplateName: resolved.LaunchTemplateName,
    Version: spec.Version || '$Default',
  };
}

/**
 * A MixedInstancesPolicy update as AWS applies it: what the request leaves out stays (the template
 * spec, the overrides, each instances-distribution field); a group that had no policy needs a spec.
 */
function mergedPolicy(
  world: World,
  current: MixedInstancesPolicy | undefined,
  given: MixedInstancesPolicy,
): MixedInstancesPolicy {
  const spec =
    given.LaunchTemplate?.LaunchTemplateSpecification ?? current?.LaunchTemplate?.LaunchTemplateSpecification;
  if (!spec) throw validation('A mixed instances policy needs a LaunchTemplateSpecification.');
  const overrides = given.LaunchTemplate?.Overrides ?? current?.LaunchTemplate?.Overrides;
  const givenFields = Object.entries(given.InstancesDistribution ?? {}).filter(([, v]) => v !== undefined);
  const distribution = { ...current?.InstancesDistribution, ...Object.fromEntries(givenFields) };
  return structuredClone({
    LaunchTemplate: {
      LaunchTemplateSpecification: storedSpec(world, spec),
      ...(overrides ? { Overrides: overrides } : {}),
    },
    ...(Object.keys(distribution).length ? { InstancesDistribution: distribution } : {}),
  });
}

const updateGroup = op((input: UpdateAutoScalingGroupType, world: World): void => {
  const g = getGroup(world, input.AutoScalingGroupName);
  if (input.LaunchTemplate && input.MixedInstancesPolicy) {
    throw validation(
      'Valid requests must contain either LaunchTemplate, LaunchConfigurationName or MixedInstancesPolicy parameter.',
    );
  }
  if (input.LaunchTemplate || input.MixedInstancesPolicy) {
    // AWS keeps what a refresh with a desired configuration will save free of changes until it ends.
    if (
      refreshesOf(world, g.AutoScalingGroupName).some((r) => isActive(r) && r.refresh.DesiredConfiguration)
    ) {
      throw validation(
        'An active instance refresh with a desired configuration exists. All configuration options derived from the desired configuration are not available for update while the instance refresh is active.',
      );
    }
    if (input.LaunchTemplate) {
      g.LaunchTemplate = storedSpec(world, input.LaunchTemplate);
      g.MixedInstancesPolicy = undefined;
    } else if (input.MixedInstancesPolicy) {
      g.MixedInstancesPolicy = mergedPolicy(world, g.MixedInstancesPolicy, input.MixedInstancesPolicy);
      g.LaunchTemplate = undefined;
    }
    g.LaunchConfigurationName = undefined;
  }
  if (input.MinSize !== undefined) g.MinSize = input.MinSize;
  if (input.MaxSize !== undefined) g.MaxSize = input.MaxSize;
  if (input.DefaultInstanceWarmup !== undefined) g.DefaultInstanceWarmup = input.DefaultInstanceWarmup;
  if (input.VPCZoneIdentifier !== undefined) g.VPCZoneIdentifier = input.VPCZoneIdentifier;
  if (input.DesiredCapacity !== undefined) g.DesiredCapacity = input.DesiredCapacity;
  g.DesiredCapacity = Math.min(Math.max(g.DesiredCapacity ?? 0, g.MinSize ?? 0), g.MaxSize ?? 0);
  // A new template applies to later launches only: running instances are not replaced.
  scaleTo(world, g);
});

const deleteGroup = op((input: DeleteAutoScalingGroupType, world: World): void => {
  const g = getGroup(world, input.AutoScalingGroupName);
  if (liveMembers(g).length && !input.ForceDelete) {
    throw new SimError(
      'ResourceInUse',
      'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.',
    );
  }
  for (const r of refreshesOf(world, g.AutoScalingGroupName)) r.stop?.();
  for (const m of g.Instances ?? []) {
    const r = world.state.instances.get(m.InstanceId ?? '');
    if (r) terminateInstance(world, r);
  }
  world.state.groups.delete(g.AutoScalingGroupName ?? '');
});

/**
 * A rollback returns the group to the configuration it had: AWS refuses one when that names
 * `$Latest`/`$Default` (nothing fixed to return to) or a version whose image is a Systems Manager
 * parameter.
 */
function checkRollbackTarget(
  world: World,
  config: Pick<AutoScalingGroup, 'LaunchTemplate' | 'MixedInstancesPolicy'>,
): void {
  const spec = specOf(config);
  const version = spec?.Version || '$Default';
  if (version === '$Latest' || version === '$Default') {
    throw validation(
      `Rollback is not supported: the Auto Scaling group uses the launch template's ${version} version. Use a specific version number.`,
    );
  }
  if (isSsmImage(resolveSpec(world, spec).imageId)) {
    throw validation(
      'Rollback is not supported: the launch template uses a Systems Manager parameter instead of an AMI ID for ImageId.',
    );
  }
}

const refreshesOf = (world: World, name: string | undefined): RefreshRecord[] =>
  [...world.state.refreshes.values()].filter((r) => r.refresh.AutoScalingGroupName === name);

function activeRefresh(world: World, name: string | undefined): RefreshRecord {
  const active = refreshesOf(world, name).find(isActive);
  if (!active)
    throw new SimError(
      'ActiveInstanceRefreshNotFound',
      `No in progress or pending Instance Refresh found for Auto Scaling group ${name}`,
    );
  return active;
}

function checkPreferences(p: StartInstanceRefreshType['Preferences']): void {
  if (!p) return;
  const min = p.MinHealthyPercentage ?? 90;
  const max = p.MaxHealthyPercentage ?? 100;
  if (min < 0 || min > 100) throw validation('MinHealthyPercentage must be between 0 and 100.');
  if (max < 100 || max > 200) throw validation('MaxHealthyPercentage must be between 100 and 200.');
  if (max - min > 100)
    throw validation(
      'The difference between MaxHealthyPercentage and MinHealthyPercentage must be at most 100.',
    );
}

const startInstanceRefresh = op(
  (input: StartInstanceRefreshType, world: World): StartInstanceRefreshAnswer => {
    const g = getGroup(world, input.AutoScalingGroupName);
    if (input.Strategy && input.Strategy !== 'Rolling')
      throw validation(`Strategy ${input.Strategy} is not supported by the simulator.`);
    if (refreshesOf(world, g.AutoScalingGroupName).some(isActive)) {
      throw new SimError(
        'InstanceRefreshInProgress',
        'An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.',
      );
    }
    checkPreferences(input.Preferences);
    const desired = input.DesiredConfiguration;
    if (desired && !specOf(desired))
      throw validation('DesiredConfiguration must specify a LaunchTemplate or a MixedInstancesPolicy.');
    if (!g.LaunchTemplate && !g.MixedInstancesPolicy && !desired) {
      throw validation('An Instance Refresh needs a launch template: the group uses a launch configuration.');
    }
    resolveSpec(world, specOf(desired ?? g));
    if (input.Preferences?.AutoRollback && !desired) {
      throw validation('AutoRollback requires a DesiredConfiguration.');
    }
    if (input.Preferences?.AutoRollback) checkRollbackTarget(world, g);
    const id = world.state.uuid();
    const rec: RefreshRecord = {
      refresh: {
        InstanceRefreshId: id,
        AutoScalingGroupName: g.AutoScalingGroupName,
        Status: 'Pending',
        StatusReason: 'Waiting for the refresh to start',
        StartTime: world.clock.now(),
        PercentageComplete: 0,
        InstancesToUpdate: liveMembers(g).length,
        Preferences: input.Preferences,
        DesiredConfiguration: desired,
        Strategy: 'Rolling',
      },
      queue: [],
      total: 0,
      previous: { LaunchTemplate: g.LaunchTemplate, MixedInstancesPolicy: g.MixedInstancesPolicy },
      launched: [],
    };
    world.state.refreshes.set(id, rec);
    startRefresh(world, rec);
    return { InstanceRefreshId: id };
  },
);

const describeRefreshes = op(
  (input: DescribeInstanceRefreshesType, world: World): DescribeInstanceRefreshesAnswer => {
    const g = getGroup(world, input.AutoScalingGroupName);
    const ids = input.InstanceRefreshIds ?? [];
    // Newest first.
    const all = refreshesOf(world, g.AutoScalingGroupName)
      .filter((r) => !ids.length || ids.includes(r.refresh.InstanceRefreshId ?? ''))
      .reverse()
      .map((r) => r.refresh);
    const { page, next } = paginate(all, {
      token: input.NextToken,
      max: checkMaxRecords(input.MaxRecords),
      invalidTokenCode: 'InvalidNextToken',
    });
    return { InstanceRefreshes: page, NextToken: next };
  },
);

const cancelRefresh = op((input: CancelInstanceRefreshType, world: World): CancelInstanceRefreshAnswer => {
  const rec = activeRefresh(world, getGroup(world, input.AutoScalingGroupName).AutoScalingGroupName);
  if (rec.refresh.Status === 'Cancelling' || rec.refresh.Status === 'RollbackInProgress') {
    throw new SimError(
      'ActiveInstanceRefreshNotFound',
      `No in progress or pending Instance Refresh found for Auto Scaling group ${input.AutoScalingGroupName}`,
    );
  }
  cancel(world, rec);
  return { InstanceRefreshId: rec.refresh.InstanceRefreshId };
});

const rollbackRefresh = op(
  (input: RollbackInstanceRefreshType, world: World): RollbackInstanceRefreshAnswer => {
    const rec = activeRefresh(world, getGroup(world, input.AutoScalingGroupName).AutoScalingGroupName);
    if (!rec.refresh.DesiredConfiguration) {
      throw new SimError(
        'IrreversibleInstanceRefresh',
        'The Instance Refresh was started without a desired configuration and cannot be rolled back.',
      );
    }
    if (rec.refresh.Status === 'RollbackInProgress' || rec.refresh.Status === 'Cancelling') {
      throw new SimError(
        'ActiveInstanceRefreshNotFound',
        `No in progress or pending Instance Refresh found for Auto Scaling group ${input.AutoScalingGroupName}`,
      );
    }
    checkRollbackTarget(world, rec.previous);
    rollback(world, rec, 'Rollback started by user');
    return { InstanceRefreshId: rec.refresh.InstanceRefreshId };
  },
);

export const autoscalingHandlers: Record<string, Handler> = {
  DescribeAutoScalingGroups: describeGroups,
  DescribeLaunchConfigurations: describeLaunchConfigurations,
  CreateAutoScalingGroup: op(
    (input: CreateAutoScalingGroupType, world: World): void => void createGroup(world, input),
  ),
  UpdateAutoScalingGroup: updateGroup,
  DeleteAutoScalingGroup: deleteGroup,
  StartInstanceRefresh: startInstanceRefresh,
  DescribeInstanceRefreshes: describeRefreshes,
  CancelInstanceRefresh: cancelRefresh,
  RollbackInstanceRefresh: rollbackRefresh,
};
