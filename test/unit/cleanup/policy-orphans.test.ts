/** planCleanup: orphaned temporary instances. */
import { describe, expect, it } from 'vitest';
import { Roles, Tags } from '../../../src/aws/tags.js';
import { planCleanup } from '../../../src/cleanup/policy.js';
import type { InstanceInfo } from '../../../src/aws/resources.js';
import { minutesAgo, OPTIONS, inventory, ids } from './policy-builders.js';

describe('planCleanup: orphaned temporary instances', () => {
  const temp = (
    id: string,
    extra: Partial<InstanceInfo> & { tags?: Record<string, string> },
  ): InstanceInfo => ({
    id,
    imageId: 'ami-src',
    state: 'running',
    launchedAt: minutesAgo(1000),
    ...extra,
    tags: {
      [Tags.Managed]: 'true',
      [Tags.Role]: Roles.TemporaryInstance,
      [Tags.RunId]: 'run-old',
      [Tags.Groups]: 'web',
      [Tags.CreatedAt]: new Date(minutesAgo(400)).toISOString(),
      ...extra.tags,
    },
  });

  it.each<{ name: string; instance: InstanceInfo; terminated: boolean }>([
    { name: 'old, of another run, running', instance: temp('i-1', {}), terminated: true },
    { name: 'stopped', instance: temp('i-1', { state: 'stopped' }), terminated: true },
    { name: 'pending', instance: temp('i-1', { state: 'pending' }), terminated: true },
    { name: 'shutting down already', instance: temp('i-1', { state: 'shutting-down' }), terminated: false },
    { name: 'of this run', instance: temp('i-1', { tags: { [Tags.RunId]: 'run-now' } }), terminated: false },
    {
      name: 'younger than the limit',
      instance: temp('i-1', { tags: { [Tags.CreatedAt]: new Date(minutesAgo(300)).toISOString() } }),
      terminated: false,
    },
    {
      name: 'aged by LaunchTime without a CreatedAt tag',
      instance: temp('i-1', { tags: { [Tags.CreatedAt]: 'not a date' } }),
      terminated: true,
    },
    {
      name: 'of unknown age',
      instance: temp('i-1', { launchedAt: 0, tags: { [Tags.CreatedAt]: '' } }),
      terminated: false,
    },
    {
      name: 'of another group',
      instance: temp('i-1', { tags: { [Tags.Groups]: 'api' } }),
      terminated: false,
    },
    {
      name: 'of another group but a scoped template',
      instance: temp('i-1', { tags: { [Tags.Groups]: 'api', [Tags.LaunchTemplates]: 'lt-a' } }),
      terminated: true,
    },
    {
      name: 'not a temporary instance',
      instance: temp('i-1', { tags: { [Tags.Role]: 'ami' } }),
      terminated: false,
    },
    { name: 'not managed', instance: temp('i-1', { tags: { [Tags.Managed]: 'false' } }), terminated: false },
  ])('$name → terminated: $terminated', ({ instance, terminated }) => {
    const plan = planCleanup(inventory({ temporaryInstances: [instance] }), OPTIONS);
    expect(ids(plan.instances)).toEqual(terminated ? ['i-1'] : []);
    if (terminated)
      expect(plan.instances[0]?.reason).toMatch(
        /^temporary instance of run run-old, \d+ minutes old \(over 360\)/,
      );
  });
});
