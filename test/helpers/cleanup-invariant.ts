/** The end-to-end cleanup test's checks, made with plain SDK calls independent of the code under test. */
import {
  AutoScalingClient,
  paginateDescribeAutoScalingGroups,
  paginateDescribeLaunchConfigurations,
  type LaunchTemplateSpecification,
} from '@aws-sdk/client-auto-scaling';
import {
  EC2Client,
  paginateDescribeImages,
  paginateDescribeInstances,
  paginateDescribeLaunchTemplateVersions,
  paginateDescribeLaunchTemplates,
  paginateDescribeSnapshots,
} from '@aws-sdk/client-ec2';
import { expect } from 'vitest';
import type { Logger } from '../../src/lib/runtime.js';
import type { Runtime } from '../../src/aws/clients.js';

/** A runtime on the real clock whose log lines land in `lines`. */
export function runtime(
  clients: { ec2: EC2Client; autoScaling: AutoScalingClient },
  lines: string[] = [],
): Runtime {
  const { ec2, autoScaling } = clients;
  const logger = (prefix: string): Logger => ({
    info: (m) => lines.push(`${prefix}${m}`),
    warning: (m) => lines.push(`${prefix}warning ${m}`),
    error: (m) => lines.push(`${prefix}error ${m}`),
    debug: () => {},
    child: (p) => logger(`${prefix}[${p}] `),
  });
  return {
    ec2,
    autoScaling,
    clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    log: logger(''),
    signal: new AbortController().signal,
  };
}

/** Every image id that exists now (this account). */
export async function existingImages(ec2: EC2Client): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const page of paginateDescribeImages({ client: ec2 }, { Owners: ['self'] })) {
    for (const image of page.Images ?? []) if (image.ImageId) ids.add(image.ImageId);
  }
  return ids;
}

/**
 * The safety invariant, checked with plain SDK calls independent of the code under test: every image
 * referenced by a group's resolved version, by any remaining version, by a launch configuration or by
 * a non-terminated instance, and existing before the run, still exists; so does every snapshot of
 * every remaining image.
 */
export async function assertNothingInUseLost(
  clients: { ec2: EC2Client; autoScaling: AutoScalingClient },
  before: ReadonlySet<string>,
): Promise<void> {
  const { ec2, autoScaling } = clients;
  const images = new Map<string, string[]>();
  for await (const page of paginateDescribeImages({ client: ec2 }, { Owners: ['self'] })) {
    for (const image of page.Images ?? []) {
      const snapshots = (image.BlockDeviceMappings ?? []).flatMap((m) =>
        m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
      );
      images.set(image.ImageId ?? '', snapshots);
    }
  }
  const referenced: [string, string][] = [];
  const versionImage = new Map<string, string>();
  const templates: { id: string; name: string; def: number; latest: number }[] = [];
  for await (const page of paginateDescribeLaunchTemplates({ client: ec2 }, {})) {
    for (const t of page.LaunchTemplates ?? []) {
      templates.push({
        id: t.LaunchTemplateId ?? '',
        name: t.LaunchTemplateName ?? '',
        def: t.DefaultVersionNumber ?? 0,
        latest: t.LatestVersionNumber ?? 0,
      });
    }
  }
  for (const t of templates) {
    for await (const page of paginateDescribeLaunchTemplateVersions(
      { client: ec2 },
      { LaunchTemplateId: t.id },
    )) {
      for (const v of page.LaunchTemplateVersions ?? []) {
        const image = v.LaunchTemplateData?.ImageId ?? '';
        versionImage.set(`${t.id}:${v.VersionNumber}`, image);
        referenced.push([image, `version ${t.id}:${v.VersionNumber}`]);
      }
    }
  }
  const resolve = (spec: LaunchTemplateSpecification | undefined): string | undefined => {
    const t = templates.find((x) => x.id === spec?.LaunchTemplateId || x.name === spec?.LaunchTemplateName);
    if (!spec || !t) return undefined;
    const v =
      spec.Version === '$Latest'
        ? t.latest
        : !spec.Version || spec.Version === '$Default'
          ? t.def
          : Number(spec.Version);
    return versionImage.get(`${t.id}:${v}`) ?? `missing version ${t.id}:${v}`;
  };
  for await (const page of paginateDescribeAutoScalingGroups({ client: autoScaling }, {})) {
    for (const g of page.AutoScalingGroups ?? []) {
      const spec = g.LaunchTemplate ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
      // A group on a launch configuration: its image is checked with the launch configurations.
      if (!spec) continue;
      const image = resolve(spec);
      // A group's version itself must survive too.
      expect(image, `group ${g.AutoScalingGroupName} lost its launch template version`).not.toMatch(
        /^missing/,
      );
      if (image) referenced.push([image, `group ${g.AutoScalingGroupName}`]);
    }
  }
  for await (const page of paginateDescribeLaunchConfigurations({ client: autoScaling }, {})) {
    for (const lc of page.LaunchConfigurations ?? [])
      referenced.push([lc.ImageId ?? '', `launch configuration ${lc.LaunchConfigurationName}`]);
  }
  const live = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];
  for await (const page of paginateDescribeInstances(
    { client: ec2 },
    { Filters: [{ Name: 'instance-state-name', Values: live }] },
  )) {
    for (const r of page.Reservations ?? []) {
      for (const i of r.Instances ?? []) referenced.push([i.ImageId ?? '', `instance ${i.InstanceId}`]);
    }
  }
  const lost = referenced.filter(([image]) => before.has(image) && !images.has(image));
  expect(lost, 'images still in use were deregistered').toEqual([]);

  const snapshots = new Set<string>();
  for await (const page of paginateDescribeSnapshots({ client: ec2 }, { OwnerIds: ['self'] })) {
    for (const s of page.Snapshots ?? []) if (s.SnapshotId) snapshots.add(s.SnapshotId);
  }
  const orphaned = [...images].flatMap(([image, snaps]) =>
    snaps.filter((s) => !snapshots.has(s)).map((s) => `${image}:${s}`),
  );
  expect(orphaned, 'remaining images lost a snapshot').toEqual([]);
}
