// Launch templates and their versions: lookup by id or name, and version resolution ($Latest, $Default,
// numbers) with EC2's error codes.
import type { LaunchTemplateVersion, RequestLaunchTemplateData } from '@aws-sdk/client-ec2';

import { SimError } from './errors.js';
import type { TemplateRecord } from './state.js';
import type { World } from './world.js';

export interface TemplateRef {
  LaunchTemplateId?: string;
  LaunchTemplateName?: string;
  Version?: string;
}

export function findTemplate(world: World, ref: TemplateRef): TemplateRecord {
  if (ref.LaunchTemplateId) {
    if (!/^lt-[0-9a-f]{17}$/.test(ref.LaunchTemplateId)) {
      throw new SimError(
        'InvalidLaunchTemplateId.Malformed',
        `The specified ID for the launch template '${ref.LaunchTemplateId}' is malformed.`,
      );
    }
    const t = world.state.templates.get(ref.LaunchTemplateId);
    if (!t) {
      throw new SimError(
        'InvalidLaunchTemplateId.NotFound',
        `The specified launch template, with template ID ${ref.LaunchTemplateId}, does not exist.`,
      );
    }
    return t;
  }
  if (ref.LaunchTemplateName) {
    const t = world.state.templateByName(ref.LaunchTemplateName);
    if (!t) {
      throw new SimError(
        'InvalidLaunchTemplateName.NotFoundException',
        `The specified launch template, with template name ${ref.LaunchTemplateName}, does not exist.`,
      );
    }
    return t;
  }
  throw new SimError(
    'MissingParameter',
    'The request must contain the parameter LaunchTemplateName or LaunchTemplateId',
  );
}

/** The version number a version string designates ($Latest, $Default, a number; omitted = $Default). */
export function versionNumber(t: TemplateRecord, version: string | undefined): number {
  if (version === undefined || version === '' || version === '$Default')
    return t.template.DefaultVersionNumber ?? 1;
  if (version === '$Latest') return t.template.LatestVersionNumber ?? 1;
  if (!/^\d+$/.test(version)) {
    throw new SimError(
      'InvalidLaunchTemplateId.VersionNotFound',
      `Could not find launch template version ${version}.`,
    );
  }
  return Number(version);
}

export function resolveVersion(
  world: World,
  ref: TemplateRef,
): { record: TemplateRecord; version: LaunchTemplateVersion } {
  const record = findTemplate(world, ref);
  const n = versionNumber(record, ref.Version);
  const version = record.versions.get(n);
  if (!version) {
    throw new SimError(
      'InvalidLaunchTemplateId.VersionNotFound',
      `Could not find launch template version ${ref.Version ?? n} for launch template ID ${record.template.LaunchTemplateId}.`,
    );
  }
  return { record, version };
}

export function addVersion(
  world: World,
  record: TemplateRecord,
  data: RequestLaunchTemplateData,
  description?: string,
): LaunchTemplateVersion {
  const n = ++record.lastNumber;
  const version: LaunchTemplateVersion = {
    LaunchTemplateId: record.template.LaunchTemplateId,
    LaunchTemplateName: record.template.LaunchTemplateName,
    VersionNumber: n,
    VersionDescription: description,
    CreateTime: world.clock.now(),
    CreatedBy: `arn:aws:iam::${world.state.accountId}:user/sim`,
    DefaultVersion: n === (record.template.DefaultVersionNumber ?? 1),
    // Request and response shapes of launch template data share their member names.
    LaunchTemplateData: structuredClone(data) as LaunchTemplateVersion['LaunchTemplateData'],
  };
  record.versions.set(n, version);
  record.template.LatestVersionNumber = n;
  return version;
}

export function setDefault(record: TemplateRecord, n: number): void {
  record.template.DefaultVersionNumber = n;
  for (const [k, v] of record.versions) v.DefaultVersion = k === n;
}
