/**
 * Permission checks with EC2's DryRun: each sends the request the real call would send, with
 * DryRun set. EC2 answers DryRunOperation when the call would have been allowed and
 * UnauthorizedOperation when a permission is missing (the role's, iam:PassRole for the template's
 * instance profile, or KMS for its encrypted volumes); any other answer is what the real call would
 * meet too. Auto Scaling has no DryRun, so its calls cannot be checked this way.
 */
import {
  CreateImageCommand,
  CreateLaunchTemplateVersionCommand,
  ModifyLaunchTemplateCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { awsErrorCode, errorMessage } from '../lib/errors.js';
import { createImageRequest, type CreateImageOptions } from './images.js';
import { launchRequest, type LaunchOptions } from './instances.js';
import { newVersionRequest, type NewVersionOptions } from './launch-templates.js';

export type DryRunAnswer =
  | { readonly outcome: 'allowed' }
  /** A permission is missing: EC2's message names it. */
  | { readonly outcome: 'denied'; readonly code: string; readonly message: string }
  /** Refused for another reason (a bad parameter, a missing resource) the real call would meet too. */
  | { readonly outcome: 'failed'; readonly code: string; readonly message: string };

const DeniedCodes = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException']);

async function dryRun(send: () => Promise<unknown>): Promise<DryRunAnswer> {
  try {
    await send();
    // EC2 never carries out a DryRun request; a success here means the flag was not honoured.
    return {
      outcome: 'failed',
      code: 'NoDryRunAnswer',
      message: 'the call succeeded instead of answering DryRunOperation',
    };
  } catch (error) {
    const code = awsErrorCode(error) ?? '';
    if (code === 'DryRunOperation') return { outcome: 'allowed' };
    const message = errorMessage(error);
    return DeniedCodes.has(code)
      ? { outcome: 'denied', code, message }
      : { outcome: 'failed', code, message };
  }
}

export function dryRunLaunch(ec2: EC2Client, options: LaunchOptions): Promise<DryRunAnswer> {
  return dryRun(() => ec2.send(new RunInstancesCommand({ ...launchRequest(options), DryRun: true })));
}

export function dryRunNewVersion(ec2: EC2Client, options: NewVersionOptions): Promise<DryRunAnswer> {
  return dryRun(() =>
    ec2.send(new CreateLaunchTemplateVersionCommand({ ...newVersionRequest(options), DryRun: true })),
  );
}

export function dryRunStop(ec2: EC2Client, instanceId: string): Promise<DryRunAnswer> {
  return dryRun(() => ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId], DryRun: true })));
}

export function dryRunCreateImage(ec2: EC2Client, options: CreateImageOptions): Promise<DryRunAnswer> {
  return dryRun(() => ec2.send(new CreateImageCommand({ ...createImageRequest(options), DryRun: true })));
}

export function dryRunTerminate(ec2: EC2Client, instanceId: string): Promise<DryRunAnswer> {
  return dryRun(() => ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId], DryRun: true })));
}

/** ModifyLaunchTemplate as a `$Default` promotion sends it (the new version does not exist yet). */
export function dryRunSetDefault(
  ec2: EC2Client,
  launchTemplateId: string,
  version: number,
): Promise<DryRunAnswer> {
  return dryRun(() =>
    ec2.send(
      new ModifyLaunchTemplateCommand({
        LaunchTemplateId: launchTemplateId,
        DefaultVersion: String(version),
        DryRun: true,
      }),
    ),
  );
}
