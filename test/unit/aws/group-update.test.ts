// Where $Default and $Latest point, read for many templates at once: AWS fails a whole
// DescribeLaunchTemplates for one missing id (InvalidLaunchTemplateId.NotFound), so a gone template
// must drop out alone, whether it was asked in a batch or by itself.
import { DescribeLaunchTemplatesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { templateVersionNumbers } from '../../../src/aws/group-update.js';
import { awsError } from '../../helpers/fakes.js';

const gone = () =>
  awsError('InvalidLaunchTemplateId.NotFound', 'The specified launch template does not exist');
const template = (id: string, latest: number) => ({
  LaunchTemplateId: id,
  DefaultVersionNumber: 1,
  LatestVersionNumber: latest,
});

describe('templateVersionNumbers', () => {
  it('asks a failed batch again one template at a time; the gone one is simply absent', async () => {
    const ec2 = mockClient(EC2Client);
    ec2.on(DescribeLaunchTemplatesCommand).callsFake((input: { LaunchTemplateIds?: string[] }) => {
      const ids = input.LaunchTemplateIds ?? [];
      if (ids.includes('lt-gone')) throw gone();
      return { LaunchTemplates: ids.map((id) => template(id, 2)) };
    });
    const numbers = await templateVersionNumbers(new EC2Client({}), ['lt-a', 'lt-gone', 'lt-b']);
    expect([...numbers.keys()].sort()).toEqual(['lt-a', 'lt-b']);
    expect(numbers.get('lt-a')).toEqual({ defaultVersion: 1, latestVersion: 2 });
    ec2.restore();
  });

  it('a template asked alone that is gone is absent, not an error', async () => {
    const ec2 = mockClient(EC2Client);
    ec2.on(DescribeLaunchTemplatesCommand).rejects(gone());
    await expect(templateVersionNumbers(new EC2Client({}), ['lt-gone'])).resolves.toEqual(new Map());
    expect(ec2.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(1);
    ec2.restore();
  });

  it('any other error fails the read, naming the templates', async () => {
    const ec2 = mockClient(EC2Client);
    ec2.on(DescribeLaunchTemplatesCommand).rejects(awsError('UnauthorizedOperation', 'not allowed'));
    await expect(templateVersionNumbers(new EC2Client({}), ['lt-a'])).rejects.toThrow(
      /Could not describe launch templates lt-a: .*not allowed/,
    );
    ec2.restore();
  });
});
