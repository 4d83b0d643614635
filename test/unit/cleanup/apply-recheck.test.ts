/**
 * applyCleanup reads again what uses each item right before deleting it: anything newly in use
 * stays (reported as kept, with why), a failed read deletes nothing of its step, and leftover
 * volumes go last.
 */
import {
  DeleteLaunchTemplateVersionsCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DeregisterImageCommand,
  EC2Client,
  type DeleteLaunchTemplateVersionsCommandInput,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { applyCleanup } from '../../../src/cleanup/apply.js';
import type { CleanupPlan } from '../../../src/cleanup/policy.js';
import { fakeRuntime } from '../../helpers/fakes.js';
import { nothingInUse, recheckFinding } from './recheck-fakes.js';

const ec2 = mockClient(EC2Client);

function plan(): CleanupPlan {
  return {
    versions: [
      { id: 'lt-a:1', templateId: 'lt-a', version: 1, imageId: 'ami-1', reason: 'old' },
      { id: 'lt-a:2', templateId: 'lt-a', version: 2, imageId: 'ami-2', reason: 'old' },
    ],
    images: [
      { id: 'ami-1', reason: 'old', requires: ['lt-a:1'] },
      { id: 'ami-2', reason: 'old', requires: ['lt-a:2'] },
    ],
    snapshots: [
      { id: 'snap-1', reason: 'snapshot of ami-1', requires: ['ami-1'] },
      { id: 'snap-2', reason: 'snapshot of ami-2', requires: ['ami-2'] },
    ],
    instances: [],
    volumes: [],
    kept: [],
  };
}

const deleted = (report: { deleted: { kind: string; id: string }[] }) =>
  report.deleted.map((d) => `${d.kind} ${d.id}`);

describe('applyCleanup: reading again before each step', () => {
  beforeEach(() => {
    ec2.reset();
    ec2
      .on(DeleteLaunchTemplateVersionsCommand)
      .callsFake((input: DeleteLaunchTemplateVersionsCommandInput) => ({
        SuccessfullyDeletedLaunchTemplateVersions: (input.Versions ?? []).map((v) => ({
          LaunchTemplateId: input.LaunchTemplateId,
          VersionNumber: Number(v),
        })),
      }));
    ec2.on(DeregisterImageCommand).resolves({});
    ec2.on(DeleteSnapshotCommand).resolves({});
  });

  it('keeps a version a group took up since the inventory, and with it its AMI and snapshot', async () => {
    const recheck = recheckFinding({ versions: { 'lt-a:2': 'used by group new-web (LaunchTemplate)' } });
    const report = await applyCleanup(plan(), { dryRun: false, recheck }, fakeRuntime());
    expect(ec2.commandCalls(DeleteLaunchTemplateVersionsCommand)[0]?.args[0].input.Versions).toEqual(['1']);
    expect(deleted(report)).toEqual(['launch-template-version lt-a:1', 'ami ami-1', 'snapshot snap-1']);
    expect(report.kept).toEqual([
      {
        kind: 'launch-template-version',
        id: 'lt-a:2',
        reason: 'used by group new-web (LaunchTemplate) (found in use when read again right before deleting)',
      },
      { kind: 'ami', id: 'ami-2', reason: 'still used by lt-a:2, which could not be deleted' },
    ]);
    // The image read knows which image each deleted version had, for groups now naming it.
    expect(recheck.asked.images).toEqual([[['ami-1'], new Map([['lt-a:1', 'ami-1']])]]);
  });

  it('keeps an AMI and its snapshot when a group turned to a version while it was being deleted', async () => {
    // The version is gone (AWS deletes what a group names), but its image must stay for the group.
    const recheck = recheckFinding({
      images: { 'ami-1': 'used by group late (LaunchTemplate) through lt-a:1' },
    });
    const report = await applyCleanup(plan(), { dryRun: false, recheck }, fakeRuntime());
    expect(deleted(report)).toEqual([
      'launch-template-version lt-a:1',
      'launch-template-version lt-a:2',
      'ami ami-2',
      'snapshot snap-2',
    ]);
    expect(report.kept.map((k) => k.id)).toEqual(['ami-1']);
    expect(recheck.asked.snapshots).toEqual([[['snap-2'], new Set(['ami-2'])]]);
  });

  it('keeps a snapshot an image was built on since the inventory', async () => {
    const recheck = recheckFinding({ snapshots: { 'snap-1': 'used by ami-copy' } });
    const report = await applyCleanup(plan(), { dryRun: false, recheck }, fakeRuntime());
    expect(ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId)).toEqual([
      'snap-2',
    ]);
    expect(report.kept).toEqual([
      {
        kind: 'snapshot',
        id: 'snap-1',
        reason: 'used by ami-copy (found in use when read again right before deleting)',
      },
    ]);
  });

  it('deletes nothing of a step whose read fails, and says so per item', async () => {
    const recheck = {
      ...nothingInUse,
      imagesInUse: () => Promise.reject(new Error('Throttling: slow down')),
    };
    const report = await applyCleanup(plan(), { dryRun: false, recheck }, fakeRuntime());
    expect(ec2.commandCalls(DeregisterImageCommand)).toHaveLength(0);
    expect(ec2.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
    expect(report.failures).toEqual([
      { kind: 'ami', id: 'ami-1', error: 'not deleted: Throttling: slow down' },
      { kind: 'ami', id: 'ami-2', error: 'not deleted: Throttling: slow down' },
    ]);
  });
});

describe('applyCleanup: volumes', () => {
  beforeEach(() => ec2.reset());

  it('deletes leftover volumes; one attached again stays, one already gone is fine', async () => {
    const gone = Object.assign(new Error('gone'), { name: 'InvalidVolume.NotFound' });
    const inUse = Object.assign(new Error('attached to i-1'), { name: 'VolumeInUse' });
    ec2.on(DeleteVolumeCommand).resolves({});
    ec2.on(DeleteVolumeCommand, { VolumeId: 'vol-gone' }).rejects(gone);
    ec2.on(DeleteVolumeCommand, { VolumeId: 'vol-busy' }).rejects(inUse);
    const volumes = ['vol-1', 'vol-gone', 'vol-busy'].map((id) => ({ id, reason: 'left available' }));
    const report = await applyCleanup(
      { ...plan(), versions: [], images: [], snapshots: [], volumes },
      { dryRun: false, recheck: nothingInUse },
      fakeRuntime(),
    );
    expect(deleted(report)).toEqual(['volume vol-1']);
    expect(report.failures).toEqual([]);
    expect(report.kept).toEqual([
      { kind: 'volume', id: 'vol-busy', reason: 'attached to an instance again' },
    ]);
  });
});
