/**
 * Our EBS volumes left behind: a temporary instance launched from a template whose block device
 * mappings say `DeleteOnTermination: false` leaves its volumes `available` after it is terminated,
 * costing money every month. They carry the instance's tags (the launch tags volumes too).
 */
import { DeleteVolumeCommand, paginateDescribeVolumes, type EC2Client } from '@aws-sdk/client-ec2';
import { wrapError } from '../lib/errors.js';
import type { Runtime } from './clients.js';
import { tagMap } from './describe-all.js';
import type { VolumeInfo } from './resources.js';
import { Roles, Tags } from './tags.js';

/** Our temporary instances' volumes that no instance holds any more (state `available`). */
export async function describeOurAvailableVolumes(rt: Pick<Runtime, 'ec2'>): Promise<VolumeInfo[]> {
  const volumes: VolumeInfo[] = [];
  try {
    const pages = paginateDescribeVolumes(
      { client: rt.ec2, pageSize: 500 },
      {
        Filters: [
          { Name: `tag:${Tags.Managed}`, Values: ['true'] },
          { Name: `tag:${Tags.Role}`, Values: [Roles.TemporaryInstance] },
          { Name: 'status', Values: ['available'] },
        ],
      },
    );
    for await (const page of pages) {
      for (const volume of page.Volumes ?? []) {
        if (!volume.VolumeId) continue;
        volumes.push({
          id: volume.VolumeId,
          state: volume.State ?? '',
          createdAt: volume.CreateTime ? new Date(volume.CreateTime).getTime() : 0,
          tags: tagMap(volume.Tags),
        });
      }
    }
  } catch (error) {
    throw wrapError('Could not describe our volumes', error);
  }
  return volumes;
}

/** Deletes one volume (AWS refuses one that is attached: VolumeInUse). */
export async function deleteVolume(ec2: EC2Client, volumeId: string, signal?: AbortSignal): Promise<void> {
  await ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }), { abortSignal: signal });
}
