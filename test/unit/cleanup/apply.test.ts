import {
  DeleteLaunchTemplateVersionsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  EC2Client,
  TerminateInstancesCommand,
  type DeleteLaunchTemplateVersionsCommandInput,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { applyCleanup } from '../../../src/cleanup/apply.js';
import type { CleanupPlan } from '../../../src/cleanup/policy.js';
import { fakeRuntime } from '../../helpers/fakes.js';
import { nothingInUse } from './recheck-fakes.js';

const ec2 = mockClient(EC2Client);

/** An error as the SDK throws it for an AWS answer: the code in `name`, and `$metadata`. */
const awsError = (code: string, message: string): Error =>
  Object.assign(new Error(message), { name: code, $metadata: { httpStatusCode: 400 } });

/** 450 old versions of lt-a (the first 300 use ami-old, the rest ami-mid), two AMIs, three snapshots. */
function bigPlan(): CleanupPlan {
  const versions = Array.from({ length: 450 }, (_, i) => ({
    id: `lt-a:${i + 1}`,
    templateId: 'lt-a',
    version: i + 1,
    reason: 'old',
  }));
  return {
    versions: [...versions, { id: 'lt-b:4', templateId: 'lt-b', version: 4, reason: 'old' }],
    images: [
      { id: 'ami-old', reason: 'old', requires: versions.slice(0, 300).map((v) => v.id) },
      { id: 'ami-mid', reason: 'old', requires: [...versions.slice(300).map((v) => v.id), 'lt-b:4'] },
      { id: 'ami-lonely', reason: 'old', requires: [] },
      { id: 'ami-gone', reason: 'old', requires: [] },
    ],
    snapshots: [
      { id: 'snap-old', reason: 'snapshot of ami-old', requires: ['ami-old'] },
      { id: 'snap-mid', reason: 'snapshot of ami-mid', requires: ['ami-mid'] },
      { id: 'snap-lonely', reason: 'snapshot of ami-lonely', requires: ['ami-lonely'] },
      { id: 'snap-gone', reason: 'snapshot of ami-gone', requires: ['ami-gone'] },
    ],
    instances: [],
    volumes: [],
    kept: [{ kind: 'ami', id: 'ami-new', reason: 'one of the newest 1 AMIs for lt-a' }],
  };
}

describe('applyCleanup', () => {
  beforeEach(() => ec2.reset());

  it('deletes versions at most 200 a call, and keeps an AMI whose version could not be deleted', async () => {
    ec2
      .on(DeleteLaunchTemplateVersionsCommand)
      .callsFake((input: DeleteLaunchTemplateVersionsCommandInput) => {
        const numbers = (input.Versions ?? []).map(Number);
        const refused = input.LaunchTemplateId === 'lt-a' ? [333] : [];
        return {
          SuccessfullyDeletedLaunchTemplateVersions: numbers
            .filter((n) => !refused.includes(n))
            .map((n) => ({ LaunchTemplateId: input.LaunchTemplateId, VersionNumber: n })),
          UnsuccessfullyDeletedLaunchTemplateVersions: refused
            .filter((n) => numbers.includes(n))
            .map((n) => ({
              LaunchTemplateId: input.LaunchTemplateId,
              VersionNumber: n,
              ResponseError: { Code: 'unexpectedError', Message: 'try again' },
            })),
        };
      });
    // The catch-all first: aws-sdk-client-mock lets a later, narrower match take precedence.
    ec2.on(DeregisterImageCommand).resolves({});
    ec2
      .on(DeregisterImageCommand, { ImageId: 'ami-gone' })
      .rejects(awsError('InvalidAMIID.NotFound', 'gone'));
    ec2.on(DeleteSnapshotCommand).resolves({});
    ec2
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-lonely' })
      .rejects(awsError('InvalidSnapshot.InUse', 'in use by ami-x'));
    const rt = fakeRuntime();

    const report = await applyCleanup(bigPlan(), { dryRun: false, recheck: nothingInUse }, rt);

    const calls = ec2.commandCalls(DeleteLaunchTemplateVersionsCommand).map((c) => c.args[0].input);
    expect(calls.map((i) => [i.LaunchTemplateId, i.Versions?.length])).toEqual([
      ['lt-a', 200],
      ['lt-a', 200],
      ['lt-a', 50],
      ['lt-b', 1],
    ]);
    expect(new Set(calls.flatMap((i) => i.Versions?.map((v) => `${i.LaunchTemplateId}:${v}`))).size).toBe(
      451,
    );

    expect(report.failures).toEqual([
      { kind: 'launch-template-version', id: 'lt-a:333', error: 'unexpectedError: try again' },
      { kind: 'snapshot', id: 'snap-lonely', error: 'InvalidSnapshot.InUse: in use by ami-x' },
    ]);
    expect(report.kept).toEqual([
      { kind: 'ami', id: 'ami-new', reason: 'one of the newest 1 AMIs for lt-a' },
      { kind: 'ami', id: 'ami-mid', reason: 'still used by lt-a:333, which could not be deleted' },
    ]);
    const deregistered = ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId);
    expect(deregistered.sort()).toEqual(['ami-gone', 'ami-lonely', 'ami-old']);
    // ami-mid stayed, so its snapshot stays; ami-gone was already gone, so its snapshot may go.
    const snapshots = ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId);
    expect(snapshots.sort()).toEqual(['snap-gone', 'snap-lonely', 'snap-old']);

    const deleted = report.deleted.map((d) => `${d.kind} ${d.id}`);
    expect(deleted).toHaveLength(450 + 2 + 2);
    expect(deleted).toContain('ami ami-old');
    expect(deleted).not.toContain('ami ami-gone');
    expect(deleted).not.toContain('launch-template-version lt-a:333');
    expect(report.deleted.every((d) => !d.dryRun)).toBe(true);
  });

  it('reports every version of a refused call and goes on with the next template', async () => {
    ec2
      .on(DeleteLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-a' })
      .rejects(awsError('UnauthorizedOperation', 'not allowed'));
    ec2.on(DeleteLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-b' }).resolves({
      SuccessfullyDeletedLaunchTemplateVersions: [{ LaunchTemplateId: 'lt-b', VersionNumber: 4 }],
    });
    const plan = bigPlan();
    const report = await applyCleanup(
      { ...plan, snapshots: [], images: [] },
      { dryRun: false, recheck: nothingInUse },
      fakeRuntime(),
    );
    expect(report.failures).toHaveLength(450);
    expect(report.failures[0]).toEqual({
      kind: 'launch-template-version',
      id: 'lt-a:1',
      error: 'UnauthorizedOperation: not allowed',
    });
    expect(report.deleted.map((d) => d.id)).toEqual(['lt-b:4']);
  });

  it('terminates orphans in one call, and one by one when the batch is refused', async () => {
    const instances = [
      { id: 'i-1', reason: 'orphan' },
      { id: 'i-2', reason: 'orphan' },
      { id: 'i-3', reason: 'orphan' },
    ];
    const empty = { versions: [], images: [], snapshots: [], volumes: [], kept: [] };
    ec2.on(TerminateInstancesCommand).resolves({});
    let report = await applyCleanup(
      { ...empty, instances },
      { dryRun: false, recheck: nothingInUse },
      fakeRuntime(),
    );
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([
      ['i-1', 'i-2', 'i-3'],
    ]);
    expect(report.deleted.map((d) => d.id)).toEqual(['i-1', 'i-2', 'i-3']);

    ec2.reset();
    ec2.on(TerminateInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', 'i-2 not found'));
    ec2.on(TerminateInstancesCommand, { InstanceIds: ['i-1'] }).resolves({});
    ec2
      .on(TerminateInstancesCommand, { InstanceIds: ['i-2'] })
      .rejects(awsError('InvalidInstanceID.NotFound', 'no'));
    ec2
      .on(TerminateInstancesCommand, { InstanceIds: ['i-3'] })
      .rejects(awsError('OperationNotPermitted', 'protected'));
    report = await applyCleanup(
      { ...empty, instances },
      { dryRun: false, recheck: nothingInUse },
      fakeRuntime(),
    );
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(4);
    expect(report.deleted.map((d) => d.id)).toEqual(['i-1']);
    expect(report.failures).toEqual([
      { kind: 'instance', id: 'i-3', error: 'OperationNotPermitted: protected' },
    ]);
  });

  it('fails every id of a batch refused as a whole, without retrying them one by one', async () => {
    const instances = [
      { id: 'i-1', reason: 'orphan' },
      { id: 'i-2', reason: 'orphan' },
    ];
    ec2.on(TerminateInstancesCommand).rejects(awsError('UnauthorizedOperation', 'not allowed'));
    const report = await applyCleanup(
      { versions: [], images: [], snapshots: [], volumes: [], kept: [], instances },
      { dryRun: false, recheck: nothingInUse },
      fakeRuntime(),
    );
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(report.failures).toEqual([
      { kind: 'instance', id: 'i-1', error: 'UnauthorizedOperation: not allowed' },
      { kind: 'instance', id: 'i-2', error: 'UnauthorizedOperation: not allowed' },
    ]);
  });

  it('deletes a snapshot whose AMI is already gone, and names a non-AWS error by its message only', async () => {
    ec2.on(DeleteSnapshotCommand, { SnapshotId: 'snap-orphan' }).resolves({});
    ec2.on(DeleteSnapshotCommand, { SnapshotId: 'snap-odd' }).rejects(new TypeError('socket hang up'));
    const report = await applyCleanup(
      {
        versions: [],
        images: [],
        instances: [],
        volumes: [],
        kept: [],
        snapshots: [
          { id: 'snap-orphan', reason: 'its AMI ami-1 is gone', requires: [] },
          { id: 'snap-odd', reason: 'its AMI is gone', requires: [] },
        ],
      },
      { dryRun: false, recheck: nothingInUse },
      fakeRuntime(),
    );
    expect(report.deleted).toEqual([
      { kind: 'snapshot', id: 'snap-orphan', reason: 'its AMI ami-1 is gone', dryRun: false },
    ]);
    expect(report.failures).toEqual([{ kind: 'snapshot', id: 'snap-odd', error: 'socket hang up' }]);
  });

  it('changes nothing under dry-run and reports every would-be deletion', async () => {
    const rt = fakeRuntime();
    const plan = { ...bigPlan(), instances: [{ id: 'i-9', reason: 'orphan' }] };
    const report = await applyCleanup(plan, { dryRun: true, recheck: nothingInUse }, rt);
    expect(ec2.calls()).toHaveLength(0);
    expect(report.deleted).toHaveLength(451 + 4 + 4 + 1);
    expect(report.deleted.every((d) => d.dryRun)).toBe(true);
    expect(report.deleted.find((d) => d.id === 'ami-mid')).toEqual({
      kind: 'ami',
      id: 'ami-mid',
      reason: 'old',
      dryRun: true,
    });
    expect(rt.log.lines).toContain('info Would delete instance i-9: orphan');
  });

  it('starts nothing once the run is cancelled', async () => {
    const rt = fakeRuntime();
    rt.controller.abort(new Error('SIGTERM'));
    const report = await applyCleanup(bigPlan(), { dryRun: false, recheck: nothingInUse }, rt);
    expect(ec2.calls()).toHaveLength(0);
    expect(report.deleted).toEqual([]);
    expect(rt.log.lines.some((l) => l.startsWith('warning Cleanup stopped early'))).toBe(true);
  });
});
