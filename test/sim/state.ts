// The simulated account: every resource kept in the SDK's own shapes, so handlers return them as they are
// and the codec writes them with the model's element names. Bookkeeping AWS does not expose lives in
// the *Record wrappers.
import { randomUUID } from 'node:crypto';

import type {
  AutoScalingGroup,
  Instance as GroupInstance,
  InstanceRefresh,
  LaunchConfiguration,
  WarmPoolConfiguration,
} from '@aws-sdk/client-auto-scaling';
import type {
  Ec2InstanceConnectEndpoint,
  Image,
  Instance,
  LaunchPermission,
  LaunchTemplate,
  LaunchTemplateVersion,
  Snapshot,
  Volume,
} from '@aws-sdk/client-ec2';

export interface InstanceRecord {
  instance: Instance;
  reservationId: string;
  /** Auto Scaling group that owns it (also tagged aws:autoscaling:groupName). */
  groupName?: string;
  /** sshd accepts connections (the SSH gate is open). */
  booted: boolean;
  /** EBS volumes (device, size) so CreateImage can snapshot them. */
  volumes: { device: string; sizeGiB: number; volumeId: string }[];
  /** Cancels the pending state transition, if any. */
  cancelTransition?: () => void;
  /** The DisableApiTermination and DisableApiStop attributes it was launched with. */
  protection?: { termination: boolean; stop: boolean };
  /** Simulated time from which reads see it (eventual consistency); always visible when unset. */
  visibleAt?: number;
}

/** What a RunInstances with a ClientToken launched, to answer a repeat of it. */
export interface LaunchByToken {
  /** The request without its token (and zone), to tell a retry from a different request. */
  readonly fingerprint: string;
  readonly reservationId: string;
  /** The instances themselves: a repeat answers their current state, even once terminated. */
  readonly instances: Instance[];
}

/** Subnets every simulator has: the sim's default one and the two fixture groups get by default. */
export const DefaultSubnets = [
  'subnet-0sim0000000000001',
  'subnet-0aaaa000000000001',
  'subnet-0bbbb000000000002',
];

/** The VPC of every subnet not mapped in `State.subnetVpcs`. */
export const DefaultVpc = 'vpc-0sim0000000000001';

/** A second VPC with one subnet, so an instance can live outside an endpoint's VPC. */
export const OtherVpc = { vpcId: 'vpc-0sim0000000000002', subnetId: 'subnet-0sim0000000000002' };

/** An EC2 Instance Connect Endpoint and what the simulator enforces on its tunnels. */
export interface InstanceConnectEndpointRecord {
  endpoint: Ec2InstanceConnectEndpoint;
  /** Concurrent tunnels it accepts (AWS: 20 per endpoint). */
  maxConnections: number;
}

/** A key SendSSHPublicKey pushed: valid for one instance and OS user until `expiresAt` (simulated ms). */
export interface PushedKey {
  instanceId: string;
  user: string;
  /** `type base64` (the comment dropped), as an authorized_keys line. */
  key: string;
  expiresAt: number;
}

export interface TemplateRecord {
  template: LaunchTemplate;
  versions: Map<number, LaunchTemplateVersion>;
  /** Highest version number ever created: numbers of deleted versions are never reused. */
  lastNumber: number;
}

export interface RefreshRecord {
  refresh: InstanceRefresh;
  /** Instances still to replace (ids of the group's instances on the old configuration). */
  queue: string[];
  total: number;
  /** The group's launch configuration before the refresh, to roll back to. */
  previous: Pick<AutoScalingGroup, 'LaunchTemplate' | 'MixedInstancesPolicy'>;
  /** Instances launched by this refresh (rollback replaces them). */
  launched: string[];
  stop?: () => void;
}

export interface WarmPoolRecord {
  configuration: WarmPoolConfiguration;
  /** Ids of the instances in the pool (Warmed:Stopped, Warmed:Running…), each with its lifecycle state. */
  instances: Map<string, GroupInstance>;
}

export class State {
  instances = new Map<string, InstanceRecord>();
  images = new Map<string, Image>();
  snapshots = new Map<string, Snapshot>();
  templates = new Map<string, TemplateRecord>();
  groups = new Map<string, AutoScalingGroup>();
  /** Launch configurations by name: only described (groups on one launch nothing). */
  launchConfigurations = new Map<string, LaunchConfiguration>();
  refreshes = new Map<string, RefreshRecord>();
  /** Subnets that exist: the defaults plus every seeded one; delete one to make it stale. */
  subnets = new Set<string>([...DefaultSubnets, OtherVpc.subnetId]);
  /** The VPC of each subnet outside the default VPC. */
  subnetVpcs = new Map<string, string>([[OtherVpc.subnetId, OtherVpc.vpcId]]);
  /** EC2 Instance Connect Endpoints by id. */
  instanceConnectEndpoints = new Map<string, InstanceConnectEndpointRecord>();
  /** Keys pushed with SendSSHPublicKey, expired ones included until the next push prunes them. */
  pushedKeys: PushedKey[] = [];
  /** RunInstances by ClientToken. */
  launchesByToken = new Map<string, LaunchByToken>();
  /** Simulated time from which reads see an image CreateImage made (eventual consistency). */
  imagesVisibleAt = new Map<string, number>();
  /** Images DeregisterImage removed, still described (State `deregistered`) until the given time. */
  deregisteredImages = new Map<string, { image: Image; until: number }>();
  /** Simulated time from which `tag:` filters see the creation tags of an instance or image. */
  tagsVisibleAt = new Map<string, number>();
  /** Systems Manager parameters by name (an AMI id each), for `resolve:ssm:` image references. */
  parameters = new Map<string, string>();
  /** Who besides the owner may launch each image (ModifyImageAttribute launchPermission). */
  launchPermissions = new Map<string, LaunchPermission[]>();
  /** EBS volumes by id, attached to their instance or (DeleteOnTermination false) left `available`. */
  volumes = new Map<string, Volume>();
  /** Warm pools by group name: their configuration and the instances waiting in them. */
  warmPools = new Map<string, WarmPoolRecord>();
  private counter = 0;
  private addressCount = 0;

  constructor(
    readonly accountId: string,
    readonly region: string,
  ) {}

  /** AWS-looking ids (i-0…17 hex), deterministic per simulator run. */
  id(prefix: string): string {
    this.counter += 1;
    const hex = (this.counter * 2654435761).toString(16).slice(-8).padStart(8, '0');
    return `${prefix}-0${hex}${this.counter.toString(16).padStart(8, '0')}`;
  }

  uuid(): string {
    return randomUUID();
  }

  /** 127.0.0.2, 127.0.0.3 … 127.0.0.254, then 127.0.1.2 …: always inside 127.0.0.0/8. */
  nextAddress(): string {
    const n = this.addressCount++;
    const x = 2 + (n % 253);
    const rest = Math.floor(n / 253);
    const y = rest % 256;
    const z = Math.floor(rest / 256);
    if (z > 255) throw new Error('loopback address space exhausted');
    return `127.${z}.${y}.${x}`;
  }

  vpcOf(subnetId: string | undefined): string {
    return (subnetId && this.subnetVpcs.get(subnetId)) || DefaultVpc;
  }

  templateByName(name: string): TemplateRecord | undefined {
    for (const t of this.templates.values()) if (t.template.LaunchTemplateName === name) return t;
    return undefined;
  }

  /** JSON-friendly snapshot for inspection (GET /_sim/state). */
  toJSON(): Record<string, unknown> {
    return {
      accountId: this.accountId,
      region: this.region,
      instances: [...this.instances.values()].map(({ instance, groupName, booted, reservationId }) => ({
        ...instance,
        reservationId,
        groupName,
        booted,
      })),
      images: [...this.images.values()],
      snapshots: [...this.snapshots.values()],
      launchTemplates: [...this.templates.values()].map((t) => ({
        ...t.template,
        versions: [...t.versions.values()],
      })),
      groups: [...this.groups.values()],
      refreshes: [...this.refreshes.values()].map((r) => r.refresh),
      parameters: Object.fromEntries(this.parameters),
      instanceConnectEndpoints: [...this.instanceConnectEndpoints.values()].map((r) => ({
        ...r.endpoint,
        maxConnections: r.maxConnections,
      })),
    };
  }
}
