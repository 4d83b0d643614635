/** The final status of a GitHub deployment record: its state and a description GitHub accepts. */
import { describe, expect, it } from 'vitest';
import {
  finalStatus,
  MaxStatusDescription,
  statusDescription,
} from '../../../src/report/github-deployment.js';

const outcome = { command: 'deploy', dryRun: false, groups: 3, failures: [], errors: [] };

describe('finalStatus', () => {
  it('success names the command and the groups rolled', () => {
    expect(finalStatus(outcome)).toEqual({ state: 'success', description: 'deploy: 3 group(s) rolled out' });
    expect(finalStatus({ ...outcome, dryRun: true }).description).toMatch(/^Dry run of deploy/);
  });

  it('failure when groups failed, error when the run itself stopped', () => {
    const failures = [{ group: 'web', error: 'deploy script exited 3' }];
    expect(finalStatus({ ...outcome, failures })).toEqual({
      state: 'failure',
      description: '1 of 3 group(s) failed; web: deploy script exited 3',
    });
    expect(finalStatus({ ...outcome, failures, errors: ['Preflight: refused'] })).toEqual({
      state: 'error',
      description: 'Preflight: refused',
    });
  });
});

describe('statusDescription', () => {
  it('keeps one line within GitHub’s 140 characters, marking a cut', () => {
    const long = statusDescription(`first line\n${'x'.repeat(300)}`);
    expect(long).toHaveLength(MaxStatusDescription);
    expect(long.startsWith('first line x')).toBe(true);
    expect(long.endsWith('…')).toBe(true);
    expect(statusDescription('short')).toBe('short');
  });
});
