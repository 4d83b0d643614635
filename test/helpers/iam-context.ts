/**
 * The requests AWS authorizes for one API call, built from the call and the simulated account as the
 * call found it: the action, the ARN of each resource the call touches, that resource's tags
 * (`aws:ResourceTag/…`, and `autoscaling:ResourceTag/…` for groups), the tags the call puts on what
 * it creates (`aws:RequestTag/…`, `aws:TagKeys`, per resource type of its TagSpecifications) and the
 * permissions AWS checks without a call of their own: `ec2:CreateTags` for TagSpecifications (with
 * `ec2:CreateAction`), `iam:PassRole` for a template's instance profile, `ec2:DeleteSnapshot` for
 * DeregisterImage's DeleteAssociatedSnapshots, and `ec2:RunInstances` on the launch template a group
 * is pointed at. Resource types and condition keys are those of AWS's Service Authorization
 * Reference (docs/iam.md names the pages).
 *
 * A resource the call creates has no id yet when AWS authorizes it, so its ARN ends in `/*`, as AWS
 * evaluates it. The simulator has no IAM and no VPC objects: an instance profile stands for the role
 * of the same name, and the primary network interface of a launch is `network-interface/*`.
 */
import type { LaunchTemplateVersion, Tag, TagSpecification } from '@aws-sdk/client-ec2';
import type { Fixture } from '../sim/index.js';
import type { ObservedCall } from '../sim/index.js';
import type { State, TemplateRecord } from '../sim/state.js';

export type ContextValue = string | string[];

/** One authorization AWS makes: an action on one resource with its request context. */
export interface AuthRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, ContextValue>>;
  /** Why this request belongs to the call (the resource type, or the implicit permission). */
  readonly why: string;
}

/** The tag that marks launch templates and groups a deploy may change (docs/iam.md). */
export const DeployableTag = { key: 'asg-rolling:deployable', value: 'true' } as const;

/** The instance profile (and role) the deployable fixture's templates give their instances. */
export const InstanceRoleName = 'shop-instances';

type Params = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/** `aws:ResourceTag/…` (and the service's own prefix, when it has one) for existing tags. */
export function resourceTags(
  tags: readonly { Key?: string; Value?: string }[] | undefined,
  servicePrefix?: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) {
    if (!t.Key) continue;
    out[`aws:ResourceTag/${t.Key}`] = t.Value ?? '';
    if (servicePrefix) out[`${servicePrefix}:ResourceTag/${t.Key}`] = t.Value ?? '';
  }
  return out;
}

/** `aws:RequestTag/…` and `aws:TagKeys` for tags a request puts on a new resource. */
export function requestTags(tags: readonly Tag[]): Record<string, ContextValue> {
  if (tags.length === 0) return {};
  const out: Record<string, ContextValue> = { 'aws:TagKeys': tags.map((t) => t.Key ?? '') };
  for (const t of tags) out[`aws:RequestTag/${t.Key ?? ''}`] = t.Value ?? '';
  return out;
}

const specTags = (params: Params, type: string): Tag[] =>
  ((params.TagSpecifications ?? []) as TagSpecification[])
    .filter((s) => s.ResourceType === type)
    .flatMap((s) => s.Tags ?? []);

function findTemplate(state: State, ref: Params): TemplateRecord | undefined {
  const id = str(ref.LaunchTemplateId);
  if (id) return state.templates.get(id);
  const name = str(ref.LaunchTemplateName);
  return name ? state.templateByName(name) : undefined;
}

function findVersion(record: TemplateRecord, version: string | undefined): LaunchTemplateVersion | undefined {
  const n =
    version === undefined || version === '$Default'
      ? record.template.DefaultVersionNumber
      : version === '$Latest'
        ? record.template.LatestVersionNumber
        : Number(version);
  return n === undefined ? undefined : record.versions.get(n);
}

/** Builds the requests of one call; throws for an action it has no model of (so a new call fails the test). */
export function requestsFor(call: ObservedCall, state: State): AuthRequest[] {
  const { region, accountId } = state;
  const ec2 = (type: string, id: string, owned = true): string =>
    `arn:aws:ec2:${region}:${owned ? accountId : ''}:${type}/${id}`;
  const action = `${call.service}:${call.action}`;
  const p = call.params;

  const templateArn = (record: TemplateRecord): string =>
    ec2('launch-template', record.template.LaunchTemplateId ?? '');
  const passRole = (data: LaunchTemplateVersion['LaunchTemplateData'], why: string): AuthRequest[] => {
    const profile = data?.IamInstanceProfile?.Arn?.split('/').pop() ?? data?.IamInstanceProfile?.Name;
    if (!profile) return [];
    return [
      {
        action: 'iam:PassRole',
        resource: `arn:aws:iam::${accountId}:role/${profile}`,
        context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
        why,
      },
    ];
  };
  const instance = (id: string): AuthRequest => ({
    action,
    resource: ec2('instance', id),
    context: resourceTags(state.instances.get(id)?.instance.Tags),
    why: 'instance',
  });
  const snapshot = (id: string, requestAction = action, why = 'snapshot'): AuthRequest => ({
    action: requestAction,
    resource: ec2('snapshot', id, false),
    context: resourceTags(state.snapshots.get(id)?.Tags),
    why,
  });
  const onTemplate = (): AuthRequest[] => {
    const record = findTemplate(state, p);
    const id =
      record?.template.LaunchTemplateId ?? str(p.LaunchTemplateId) ?? str(p.LaunchTemplateName) ?? '?';
    return [
      {
        action,
        resource: ec2('launch-template', id),
        context: resourceTags(record?.template.Tags),
        why: 'launch-template',
      },
    ];
  };
  /** Auto Scaling checks that the caller may launch from the template it points a group at. */
  const templateCheck = (spec: Params | undefined, why: string): AuthRequest[] => {
    const record = spec ? findTemplate(state, spec) : undefined;
    if (!spec || !record) return [];
    const arn = templateArn(record);
    return [
      {
        action: 'ec2:RunInstances',
        resource: arn,
        context: {
          ...resourceTags(record.template.Tags),
          'ec2:LaunchTemplate': arn,
          'ec2:IsLaunchTemplateResource': 'true',
        },
        why,
      },
      ...passRole(findVersion(record, str(spec.Version))?.LaunchTemplateData, why),
    ];
  };
  const onGroup = (): AuthRequest[] => {
    const group = state.groups.get(str(p.AutoScalingGroupName) ?? '');
    const arn =
      group?.AutoScalingGroupARN ??
      `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:?:autoScalingGroupName/${str(p.AutoScalingGroupName) ?? ''}`;
    return [
      { action, resource: arn, context: resourceTags(group?.Tags, 'autoscaling'), why: 'autoScalingGroup' },
    ];
  };

  switch (action) {
    case 'ec2:RunInstances':
      return runInstances(call, state, ec2, passRole);
    case 'ec2:CreateImage': {
      const created = (type: 'image' | 'snapshot'): AuthRequest[] => {
        const tags = specTags(p, type);
        const resource = ec2(type, '*', false);
        return [
          { action, resource, context: requestTags(tags), why: type },
          ...(tags.length
            ? [
                {
                  action: 'ec2:CreateTags',
                  resource,
                  context: { ...requestTags(tags), 'ec2:CreateAction': 'CreateImage' },
                  why: `TagSpecifications (${type})`,
                },
              ]
            : []),
        ];
      };
      return [instance(str(p.InstanceId) ?? ''), ...created('image'), ...created('snapshot')];
    }
    case 'ec2:StopInstances':
    case 'ec2:TerminateInstances':
      return strings(p.InstanceIds).map(instance);
    case 'ec2:DeregisterImage': {
      const image = state.images.get(str(p.ImageId) ?? '');
      const own: AuthRequest = {
        action,
        resource: ec2('image', str(p.ImageId) ?? '', false),
        context: resourceTags(image?.Tags),
        why: 'image',
      };
      if (p.DeleteAssociatedSnapshots !== true) return [own];
      const snapshots = (image?.BlockDeviceMappings ?? []).flatMap((m) => m.Ebs?.SnapshotId ?? []);
      return [own, ...snapshots.map((id) => snapshot(id, 'ec2:DeleteSnapshot', 'DeleteAssociatedSnapshots'))];
    }
    case 'ec2:DeleteSnapshot':
      return [snapshot(str(p.SnapshotId) ?? '')];
    case 'ec2:DeleteVolume': {
      const id = str(p.VolumeId) ?? '';
      return [
        {
          action,
          resource: ec2('volume', id),
          context: resourceTags(state.volumes.get(id)?.Tags),
          why: 'volume',
        },
      ];
    }
    case 'ec2:CreateLaunchTemplateVersion':
    case 'ec2:ModifyLaunchTemplate':
    case 'ec2:DeleteLaunchTemplateVersions':
      return onTemplate();
    case 'autoscaling:UpdateAutoScalingGroup': {
      const spec = (p.LaunchTemplate ?? (p.MixedInstancesPolicy as Params | undefined)?.LaunchTemplate) as
        Params | undefined;
      const ref = (spec?.LaunchTemplateSpecification ?? spec) as Params | undefined;
      return [...onGroup(), ...templateCheck(ref, 'the group is pointed at this launch template')];
    }
    case 'autoscaling:StartInstanceRefresh': {
      const desired = p.DesiredConfiguration as Params | undefined;
      const spec = (desired?.LaunchTemplate ??
        (desired?.MixedInstancesPolicy as Params | undefined)?.LaunchTemplate) as Params | undefined;
      const ref = (spec?.LaunchTemplateSpecification ?? spec) as Params | undefined;
      return [...onGroup(), ...templateCheck(ref, 'the refresh launches from this launch template')];
    }
    case 'autoscaling:CancelInstanceRefresh':
      return onGroup();
    default:
      if (call.action.startsWith('Describe'))
        return [{ action, resource: '*', context: {}, why: 'no resource-level permissions' }];
      throw new Error(`no request-context model for ${action}: add one to test/helpers/iam-context.ts`);
  }
}

/**
 * RunInstances is authorized once per resource it touches: the launch template and what it names
 * (image, security groups, key pair), the subnet, and the new instance, volume and network interface.
 */
function runInstances(
  call: ObservedCall,
  state: State,
  ec2: (type: string, id: string, owned?: boolean) => string,
  passRole: (data: LaunchTemplateVersion['LaunchTemplateData'], why: string) => AuthRequest[],
): AuthRequest[] {
  const p = call.params;
  const action = 'ec2:RunInstances';
  const ref = p.LaunchTemplate as Params | undefined;
  const record = ref ? findTemplate(state, ref) : undefined;
  const data = record ? findVersion(record, str(ref?.Version))?.LaunchTemplateData : undefined;
  const template: Record<string, string> = record
    ? { 'ec2:LaunchTemplate': ec2('launch-template', record.template.LaunchTemplateId ?? '') }
    : {};
  /** `ec2:IsLaunchTemplateResource`: whether the template, not the request, named the resource. */
  const fromTemplate = (named: boolean): Record<string, string> =>
    record ? { ...template, 'ec2:IsLaunchTemplateResource': String(named) } : {};
  const out: AuthRequest[] = [];
  const add = (resource: string, context: Record<string, ContextValue>, why: string): void => {
    out.push({ action, resource, context, why });
  };
  if (record)
    add(
      ec2('launch-template', record.template.LaunchTemplateId ?? ''),
      { ...resourceTags(record.template.Tags), ...fromTemplate(true) },
      'launch-template',
    );
  const imageId = str(p.ImageId) ?? data?.ImageId ?? '';
  add(
    ec2('image', imageId, false),
    {
      ...resourceTags(state.images.get(imageId)?.Tags),
      ...fromTemplate(!p.ImageId && Boolean(data?.ImageId)),
    },
    'image',
  );
  const subnet = str(p.SubnetId) ?? data?.NetworkInterfaces?.[0]?.SubnetId;
  if (subnet) add(ec2('subnet', subnet), fromTemplate(!p.SubnetId), 'subnet');
  for (const sg of [
    ...strings(p.SecurityGroupIds),
    ...(p.SecurityGroupIds ? [] : (data?.SecurityGroupIds ?? [])),
  ])
    add(ec2('security-group', sg), fromTemplate(!p.SecurityGroupIds), 'security-group');
  const key = str(p.KeyName) ?? data?.KeyName;
  if (key) add(ec2('key-pair', key), fromTemplate(!p.KeyName), 'key-pair');
  add(
    ec2('network-interface', '*'),
    {
      ...fromTemplate(Boolean(data?.NetworkInterfaces?.length)),
      ...(subnet ? { 'ec2:Subnet': ec2('subnet', subnet) } : {}),
    },
    'network-interface',
  );
  for (const type of ['instance', 'volume'] as const) {
    const tags = specTags(p, type);
    add(ec2(type, '*'), { ...requestTags(tags), ...fromTemplate(false) }, type);
    if (tags.length)
      out.push({
        action: 'ec2:CreateTags',
        resource: ec2(type, '*'),
        context: { ...requestTags(tags), 'ec2:CreateAction': 'RunInstances' },
        why: `TagSpecifications (${type})`,
      });
  }
  out.push(...passRole(data, 'the instance profile of the launch template'));
  return out;
}

/**
 * `fixture` with the deployable tag on every launch template and group, and templates that name a
 * security group, a key pair and an instance profile, so every resource type of a launch is there.
 */
export function deployable(fixture: Fixture): Fixture {
  const tag = { [DeployableTag.key]: DeployableTag.value };
  return {
    ...fixture,
    launchTemplates: fixture.launchTemplates?.map((lt) => ({
      ...lt,
      tags: { ...lt.tags, ...tag },
      versions: lt.versions.map((v) => ({
        ...v,
        data: {
          SecurityGroupIds: ['sg-0a1b2c3d4e5f60001'],
          KeyName: 'deploy',
          IamInstanceProfile: { Arn: `arn:aws:iam::123456789012:instance-profile/${InstanceRoleName}` },
          ...v.data,
        },
      })),
    })),
    groups: fixture.groups?.map((g) => ({ ...g, tags: { ...g.tags, ...tag } })),
  };
}
