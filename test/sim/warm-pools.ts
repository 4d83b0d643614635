// Warm pools of Auto Scaling groups: PutWarmPool keeps instances launched from the group's launch
// template waiting beside the group (stopped by default), DescribeWarmPool lists them with the
// template version each was launched from, DeleteWarmPool terminates them. They are not in the
// group's Instances. The pool holds MaxGroupPreparedCapacity (default: the group's MaxSize) minus
// DesiredCapacity instances, at least MinSize. Modelled after
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html,
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeWarmPool.html and
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html.
import type {
  DeleteWarmPoolType,
  DescribeWarmPoolAnswer,
  DescribeWarmPoolType,
  PutWarmPoolType,
} from '@aws-sdk/client-auto-scaling';

import { getGroup } from './autoscaling.js';
import { validation } from './errors.js';
import { resolveSpec, specOf } from './groups.js';
import { op, type Handler } from './handler.js';
import { launchInstance, stopInstance, terminateInstance } from './instances.js';
import type { World } from './world.js';

const putWarmPool = op((input: PutWarmPoolType, world: World): void => {
  const group = getGroup(world, input.AutoScalingGroupName);
  const name = group.AutoScalingGroupName ?? '';
  if (input.MinSize !== undefined && input.MinSize < 0) throw validation('MinSize must be at least 0.');
  const prepared = input.MaxGroupPreparedCapacity ?? -1;
  const configuration = {
    MinSize: input.MinSize ?? 0,
    MaxGroupPreparedCapacity: input.MaxGroupPreparedCapacity,
    PoolState: input.PoolState ?? 'Stopped',
    InstanceReusePolicy: input.InstanceReusePolicy,
  };
  const pool = world.state.warmPools.get(name) ?? { configuration, instances: new Map() };
  pool.configuration = configuration;
  world.state.warmPools.set(name, pool);
  group.WarmPoolConfiguration = configuration;
  const ceiling = prepared === -1 ? (group.MaxSize ?? 0) : prepared;
  const size = Math.max(configuration.MinSize, ceiling - (group.DesiredCapacity ?? 0));
  const resolved = resolveSpec(world, specOf(group));
  if (!resolved.imageId) throw validation('The launch template has no ImageId.');
  const subnets = (group.VPCZoneIdentifier ?? '').split(',').filter(Boolean);
  for (let i = pool.instances.size; i < size; i++) {
    const record = launchInstance(world, {
      imageId: resolved.imageId,
      reservationId: world.state.id('r'),
      instanceType: resolved.instanceType,
      subnetId: subnets[i % Math.max(1, subnets.length)],
      tags: [{ Key: 'aws:autoscaling:groupName', Value: name }],
      running: true,
    });
    const state = configuration.PoolState;
    if (state !== 'Running') stopInstance(world, record);
    const { LaunchTemplateId, LaunchTemplateName, Version } = resolved;
    pool.instances.set(record.instance.InstanceId ?? '', {
      InstanceId: record.instance.InstanceId,
      InstanceType: record.instance.InstanceType,
      AvailabilityZone: record.instance.Placement?.AvailabilityZone,
      LifecycleState: `Warmed:${state}`,
      HealthStatus: 'Healthy',
      LaunchTemplate: { LaunchTemplateId, LaunchTemplateName, Version },
      ProtectedFromScaleIn: false,
    });
  }
  group.WarmPoolSize = pool.instances.size;
});

const describeWarmPool = op((input: DescribeWarmPoolType, world: World): DescribeWarmPoolAnswer => {
  const group = getGroup(world, input.AutoScalingGroupName);
  const pool = world.state.warmPools.get(group.AutoScalingGroupName ?? '');
  if (!pool) return { Instances: [] };
  return { WarmPoolConfiguration: pool.configuration, Instances: [...pool.instances.values()] };
});

const deleteWarmPool = op((input: DeleteWarmPoolType, world: World): void => {
  const group = getGroup(world, input.AutoScalingGroupName);
  const name = group.AutoScalingGroupName ?? '';
  const pool = world.state.warmPools.get(name);
  if (!pool) throw validation(`No warm pool found for Auto Scaling group ${name}`);
  for (const id of pool.instances.keys()) {
    const record = world.state.instances.get(id);
    if (record) terminateInstance(world, record);
  }
  world.state.warmPools.delete(name);
  group.WarmPoolConfiguration = undefined;
  group.WarmPoolSize = undefined;
});

export const warmPoolHandlers: Record<string, Handler> = {
  PutWarmPool: putWarmPool,
  DescribeWarmPool: describeWarmPool,
  DeleteWarmPool: deleteWarmPool,
};
