// EC2 instance lifecycle: pending → running → (stopping → stopped) → shutting-down → terminated, each
// step on a latency-model timer. Each instance gets its own loopback address; its SSH gate opens a
// boot delay after `running` and closes when it stops or terminates.
import type { Instance, InstanceStateName, Tag } from '@aws-sdk/client-ec2';

import { attachVolumes, releaseVolumes, type VolumeSpec } from './ec2-volumes.js';
import { SimError } from './errors.js';
import type { InstanceRecord } from './state.js';
import type { World } from './world.js';

const codes: Record<string, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface LaunchSpec {
  imageId: string;
  reservationId: string;
  instanceType?: string;
  subnetId?: string;
  keyName?: string;
  tags?: Tag[];
  launchTemplate?: { LaunchTemplateId?: string; LaunchTemplateName?: string; Version?: string };
  groupName?: string;
  launchIndex?: number;
  /** Seeding: create it already running (and booted). */
  running?: boolean;
  /** DeleteOnTermination and tags of its volumes. */
  volumes?: VolumeSpec;
}

const zones = ['a', 'b', 'c'];

export function zoneOf(world: World, subnetId: string | undefined): string {
  const n = subnetId ? [...subnetId].reduce((a, c) => a + c.charCodeAt(0), 0) : 0;
  return `${world.state.region}${zones[n % zones.length]}`;
}

export function requireImage(world: World, imageId: string): void {
  if (!/^ami-[0-9a-f]{8,17}$/.test(imageId)) {
    throw new SimError('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  }
  const image = world.state.images.get(imageId);
  if (!image) throw new SimError('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  if (image.State !== 'available') {
    throw new SimError(
      'InvalidAMIID.Unavailable',
      `The image id '[${imageId}]' is not available (state: ${image.State})`,
    );
  }
}

export function launchInstance(world: World, spec: LaunchSpec): InstanceRecord {
  requireImage(world, spec.imageId);
  const image = world.state.images.get(spec.imageId);
  const id = world.state.id('i');
  const address = world.state.nextAddress();
  const now = world.clock.now();
  const volumes = (image?.BlockDeviceMappings ?? [])
    .filter((m) => m.Ebs)
    .map((m) => ({
      device: m.DeviceName ?? '/dev/xvda',
      sizeGiB: m.Ebs?.VolumeSize ?? 8,
      volumeId: world.state.id('vol'),
    }));
  const tags = [...(spec.tags ?? [])];
  if (spec.groupName) tags.push({ Key: 'aws:autoscaling:groupName', Value: spec.groupName });
  const instance: Instance = {
    InstanceId: id,
    ImageId: spec.imageId,
    InstanceType: (spec.instanceType ?? 't3.micro') as Instance['InstanceType'],
    KeyName: spec.keyName,
    LaunchTime: now,
    AmiLaunchIndex: spec.launchIndex ?? 0,
    Placement: { AvailabilityZone: zoneOf(world, spec.subnetId), Tenancy: 'default' },
    PrivateIpAddress: address,
    PublicIpAddress: address,
    PrivateDnsName: `ip-${address.replaceAll('.', '-')}.ec2.internal`,
    PublicDnsName: '',
    SubnetId: spec.subnetId ?? 'subnet-0sim0000000000001',
    VpcId: world.state.vpcOf(spec.subnetId ?? 'subnet-0sim0000000000001'),
    Architecture: image?.Architecture ?? 'x86_64',
    RootDeviceName: image?.RootDeviceName ?? '/dev/xvda',
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    Monitoring: { State: 'disabled' },
    State: { Code: codes.pending, Name: 'pending' },
    StateTransitionReason: '',
    BlockDeviceMappings: volumes.map((v) => ({
      DeviceName: v.device,
      Ebs: { VolumeId: v.volumeId, Status: 'attached', AttachTime: now, DeleteOnTermination: true },
    })),
    Tags: tags.length ? tags : undefined,
  };
  const record: InstanceRecord = {
    instance,
    reservationId: spec.reservationId,
    groupName: spec.groupName,
    booted: false,
    volumes,
  };
  world.state.instances.set(id, record);
  attachVolumes(world, record, spec.volumes ?? {});
  if (spec.running) {
    setState(world, record, 'running');
    markBooted(world, record);
  } else {
    startPending(world, record);
  }
  return record;
}

function gated(world: World, record: InstanceRecord): boolean {
  return world.gates.enabled && (!record.groupName || world.gateGroupInstances);
}

function markBooted(world: World, record: InstanceRecord): void {
  record.booted = true;
  if (gated(world, record) && record.instance.PrivateIpAddress)
    void world.gates.open(record.instance.PrivateIpAddress);
}

function setState(world: World, record: InstanceRecord, name: InstanceStateName): void {
  record.instance.State = { Code: codes[name], Name: name };
  if (record.groupName) {
    const group = world.state.groups.get(record.groupName);
    const member = group?.Instances?.find((i) => i.InstanceId === record.instance.InstanceId);
    if (member && name === 'running') member.LifecycleState = 'InService';
    if (member && name === 'shutting-down') member.LifecycleState = 'Terminating';
    if (group && name === 'terminated') {
      group.Instances = group.Instances?.filter((i) => i.InstanceId !== record.instance.InstanceId);
    }
  }
}

function transition(world: World, record: InstanceRecord, delay: number, fn: () => void): void {
  record.cancelTransition?.();
  record.cancelTransition = world.clock.after(delay, () => {
    record.cancelTransition = undefined;
    fn();
  });
}

function startPending(world: World, record: InstanceRecord): void {
  const ctx = { instanceId: record.instance.InstanceId, groupName: record.groupName };
  setState(world, record, 'pending');
  transition(world, record, world.latency.transition('instancePending', ctx), () => {
    setState(world, record, 'running');
    transition(world, record, world.latency.transition('sshBoot', ctx), () => markBooted(world, record));
  });
}

function closeGate(world: World, record: InstanceRecord): void {
  record.booted = false;
  if (record.instance.PrivateIpAddress) void world.gates.close(record.instance.PrivateIpAddress);
}

export function getInstance(world: World, id: string): InstanceRecord {
  const r = world.state.instances.get(id);
  if (!r) {
    if (!/^i-[0-9a-f]{8,17}$/.test(id))
      throw new SimError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    throw new SimError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  }
  return r;
}

const stateName = (r: InstanceRecord): string => r.instance.State?.Name ?? 'pending';

export function stopInstance(world: World, record: InstanceRecord): void {
  const s = stateName(record);
  if (s === 'stopped' || s === 'stopping') return;
  if (s !== 'running' && s !== 'pending') {
    throw new SimError(
      'IncorrectInstanceState',
      `The instance '${record.instance.InstanceId}' is not in a state from which it can be stopped.`,
    );
  }
  closeGate(world, record);
  setState(world, record, 'stopping');
  record.instance.StateTransitionReason = `User initiated (${world.clock.now().toISOString()})`;
  const ctx = { instanceId: record.instance.InstanceId, groupName: record.groupName };
  transition(world, record, world.latency.transition('instanceStopping', ctx), () => {
    setState(world, record, 'stopped');
    record.instance.StateReason = {
      Code: 'Client.UserInitiatedShutdown',
      Message: 'Client.UserInitiatedShutdown: User initiated shutdown',
    };
  });
}

export function startInstance(world: World, record: InstanceRecord): void {
  const s = stateName(record);
  if (s === 'running' || s === 'pending') return;
  if (s !== 'stopped') {
    throw new SimError(
      'IncorrectInstanceState',
      `The instance '${record.instance.InstanceId}' is not in a state from which it can be started.`,
    );
  }
  record.instance.StateReason = undefined;
  startPending(world, record);
}

export function terminateInstance(world: World, record: InstanceRecord): void {
  const s = stateName(record);
  if (s === 'terminated' || s === 'shutting-down') return;
  closeGate(world, record);
  setState(world, record, 'shutting-down');
  const ctx = { instanceId: record.instance.InstanceId, groupName: record.groupName };
  transition(world, record, world.latency.transition('instanceShuttingDown', ctx), () => {
    setState(world, record, 'terminated');
    releaseVolumes(world, record);
    record.instance.StateReason = {
      Code: 'Client.UserInitiatedShutdown',
      Message: 'Client.UserInitiatedShutdown: User initiated shutdown',
    };
    // AWS shows terminated instances for about an hour, then forgets them.
    transition(world, record, world.latency.transition('terminatedRetention', ctx), () => {
      world.state.instances.delete(record.instance.InstanceId ?? '');
    });
  });
}

/** CreateImage without NoReboot shuts a running instance down for the snapshot: sshd goes away a while. */
export function rebootForImage(world: World, record: InstanceRecord): void {
  if (stateName(record) !== 'running') return;
  closeGate(world, record);
  const ctx = { instanceId: record.instance.InstanceId, groupName: record.groupName };
  transition(world, record, world.latency.transition('sshBoot', ctx), () => markBooted(world, record));
}
