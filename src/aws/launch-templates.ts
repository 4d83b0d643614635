/** Launch template calls: resolve the versions groups use, add a version with a new AMI, promote it. */
import {
  CreateLaunchTemplateVersionCommand,
  type CreateLaunchTemplateVersionCommandInput,
  DeleteLaunchTemplateVersionsCommand,
  type DeleteLaunchTemplateVersionsCommandOutput,
  ModifyLaunchTemplateCommand,
  paginateDescribeLaunchTemplateVersions,
  type EC2Client,
  type LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import pLimit from 'p-limit';
import { errorMessage, wrapError } from '../lib/errors.js';

/** One DescribeLaunchTemplateVersions call: every version the groups of one template need. */
export interface VersionRequest {
  readonly key: string;
  readonly launchTemplateId: string | undefined;
  readonly launchTemplateName: string | undefined;
  readonly versions: readonly string[];
}

/** Where a template's `$Default` and `$Latest` point; undefined when not known. */
export interface VersionPointers {
  readonly defaultVersion: number | undefined;
  readonly latestVersion: number | undefined;
}

/**
 * The version number a reference means, as AWS reads a group's or RunInstances' Version: `$Latest`,
 * `$Default` (also when empty, AWS's default), or a positive number. The one resolver of the
 * project: discovery and cleanup both ask it.
 */
export function resolveVersionNumber(ref: string, pointers: VersionPointers): number | undefined {
  if (ref === '$Latest') return pointers.latestVersion;
  if (ref === '' || ref === '$Default') return pointers.defaultVersion;
  const number = Number(ref);
  return Number.isInteger(number) && number > 0 ? number : undefined;
}

/**
 * The pointers as seen in one DescribeLaunchTemplateVersions answer that asked for `$Latest` and
 * `$Default` among others: the default is flagged, and no version is newer than `$Latest`.
 */
export function versionPointers(versions: readonly LaunchTemplateVersion[]): VersionPointers {
  const numbers = versions.flatMap((v) => (v.VersionNumber === undefined ? [] : [v.VersionNumber]));
  return {
    defaultVersion: versions.find((v) => v.DefaultVersion === true)?.VersionNumber,
    latestVersion: numbers.length > 0 ? Math.max(...numbers) : undefined,
  };
}

/** A template version as the groups launch it, with the `resolve:ssm:` reference its ImageId had, if any. */
export type DescribedVersion = LaunchTemplateVersion & {
  /** The version names its image `resolve:ssm:<parameter>`; ImageId is what that holds now. */
  readonly imageAlias?: string;
};

/** The versions of one template, or why they could not be read (that template's groups fail). */
export type TemplateVersionsResult = readonly DescribedVersion[] | { readonly error: string };

/**
 * Describe calls in flight at once. EC2's Describe* bucket holds 100 tokens (refill 20/s): 256
 * templates sent at once empty it, and after a throttle the SDK's adaptive limiter slows every
 * later call of the client (stops, images, polls). Ten at a time with ~100 ms answers is well
 * under the bucket, and a few hundred templates still take seconds.
 */
export const DescribeTemplateConcurrency = 10;

const SsmImagePrefix = 'resolve:ssm:';

/**
 * One DescribeLaunchTemplateVersions per template, asking for every version its groups need at once
 * ($Latest, $Default and numbers), at most DescribeTemplateConcurrency at a time. A template whose
 * versions name a Systems Manager parameter is asked once more with ResolveAlias, for the AMI id the
 * parameter holds now; both answers are kept (AWS can roll back to neither).
 */
export async function describeTemplateVersions(
  ec2: EC2Client,
  requests: readonly VersionRequest[],
): Promise<Map<string, TemplateVersionsResult>> {
  const results = new Map<string, TemplateVersionsResult>();
  const limit = pLimit(DescribeTemplateConcurrency);
  await Promise.all(
    requests.map((request) =>
      limit(async () => {
        try {
          const versions = await versionsOf(ec2, request, false);
          if (!versions.some((v) => v.LaunchTemplateData?.ImageId?.startsWith(SsmImagePrefix))) {
            results.set(request.key, versions);
            return;
          }
          const resolved = await versionsOf(ec2, request, true);
          results.set(request.key, withAliases(resolved, versions));
        } catch (error) {
          results.set(request.key, {
            error: `Could not describe launch template ${request.launchTemplateId ?? request.launchTemplateName}: ${errorMessage(error)}`,
          });
        }
      }),
    ),
  );
  return results;
}

async function versionsOf(
  ec2: EC2Client,
  request: VersionRequest,
  resolveAlias: boolean,
): Promise<LaunchTemplateVersion[]> {
  const versions: LaunchTemplateVersion[] = [];
  const pages = paginateDescribeLaunchTemplateVersions(
    { client: ec2 },
    {
      ...(request.launchTemplateId
        ? { LaunchTemplateId: request.launchTemplateId }
        : { LaunchTemplateName: request.launchTemplateName }),
      Versions: [...request.versions],
      ...(resolveAlias ? { ResolveAlias: true } : {}),
    },
  );
  for await (const page of pages) versions.push(...(page.LaunchTemplateVersions ?? []));
  return versions;
}

/** The resolved versions, each marked with the parameter its stored version names. */
function withAliases(
  resolved: readonly LaunchTemplateVersion[],
  stored: readonly LaunchTemplateVersion[],
): DescribedVersion[] {
  return resolved.map((version) => {
    const alias = stored.find((s) => s.VersionNumber === version.VersionNumber)?.LaunchTemplateData?.ImageId;
    return alias?.startsWith(SsmImagePrefix) ? { ...version, imageAlias: alias } : version;
  });
}

export interface NewVersionOptions {
  readonly launchTemplateId: string;
  /** The version the groups use today: everything but the image is copied from it. */
  readonly sourceVersion: number;
  readonly imageId: string;
  readonly description: string;
}

/** The CreateLaunchTemplateVersion request; the permission preflight sends the same with DryRun. */
export function newVersionRequest(options: NewVersionOptions): CreateLaunchTemplateVersionCommandInput {
  return {
    LaunchTemplateId: options.launchTemplateId,
    SourceVersion: String(options.sourceVersion),
    VersionDescription: options.description.slice(0, 255),
    LaunchTemplateData: { ImageId: options.imageId },
  };
}

/** Adds a version that differs from the source version only by its ImageId; returns its number. */
export async function createTemplateVersion(ec2: EC2Client, options: NewVersionOptions): Promise<number> {
  try {
    const result = await ec2.send(new CreateLaunchTemplateVersionCommand(newVersionRequest(options)));
    const version = result.LaunchTemplateVersion?.VersionNumber;
    if (version === undefined) throw new Error('no version number returned');
    return version;
  } catch (error) {
    throw wrapError(`Could not create a version of launch template ${options.launchTemplateId}`, error);
  }
}

/** Makes a version the template's default, for groups (and other users) that follow `$Default`. */
export async function setDefaultVersion(
  ec2: EC2Client,
  launchTemplateId: string,
  version: number,
): Promise<void> {
  try {
    await ec2.send(
      new ModifyLaunchTemplateCommand({
        LaunchTemplateId: launchTemplateId,
        DefaultVersion: String(version),
      }),
    );
  } catch (error) {
    throw wrapError(
      `Could not make version ${version} the default of launch template ${launchTemplateId}`,
      error,
    );
  }
}

/**
 * Deletes versions of one template in one call (AWS takes at most 200). AWS answers per version:
 * the result lists which went and which did not, with AWS's error for each.
 */
export async function deleteTemplateVersions(
  ec2: EC2Client,
  options: {
    readonly templateId: string;
    readonly versions: readonly number[];
    readonly signal?: AbortSignal;
  },
): Promise<DeleteLaunchTemplateVersionsCommandOutput> {
  return ec2.send(
    new DeleteLaunchTemplateVersionsCommand({
      LaunchTemplateId: options.templateId,
      Versions: options.versions.map(String),
    }),
    { abortSignal: options.signal },
  );
}
