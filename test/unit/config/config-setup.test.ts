/** readConfig: the result of `setup` handed to `finalize` through the job environment. */
import { describe, expect, it } from 'vitest';
import { encodeSetupResult, SetupResultVariable, type SetupResult } from '../../../src/config/hand-off.js';
import { useWorkspace } from './config-builders.js';

const { read, problems } = useWorkspace();

const setup: SetupResult = {
  runId: '42-1',
  region: 'eu-west-1',
  images: [
    { sourceImageId: 'ami-0abc', instanceId: 'i-0abc', address: '192.0.2.5', groups: ['web', 'api'] },
    { sourceImageId: 'ami-0def', instanceId: 'i-0def', address: '192.0.2.6', groups: ['worker'] },
  ],
};
describe('readConfig: setup → finalize through the job environment', () => {
  const env = { [SetupResultVariable]: encodeSetupResult(setup) };

  it('finalize without a setup result fails clearly', () => {
    expect(problems({ command: 'finalize', 'asg-names': 'web' })).toEqual([
      expect.stringMatching(/^Command "finalize" found no "setup" result.*ASG_ROLLING_SETUP/),
    ]);
  });

  it('finalize takes the groups and region of setup when none are given', () => {
    const config = read({ command: 'finalize' }, { env });
    expect(config.setupResult).toEqual(setup);
    expect(config.selection.names).toEqual(['web', 'api', 'worker']);
    expect(config.region).toBe('eu-west-1');
  });

  it('finalize refuses a region other than the setup one', () => {
    expect(problems({ command: 'finalize', 'aws-region': 'us-east-1' }, env)).toEqual([
      expect.stringContaining('Input "aws-region" must match the region of the "setup" step (eu-west-1)'),
    ]);
  });

  it.each([
    ['not JSON', '{oops', /is not JSON/],
    ['wrong shape', JSON.stringify({ ...setup, images: [{ instanceId: 'x' }] }), /images\.0\.sourceImageId/],
    ['no images', JSON.stringify({ ...setup, images: [] }), /not a valid "setup" result/],
  ])('a malformed setup result (%s) is reported', (_what, value, pattern) => {
    const lines = problems({ command: 'finalize' }, { [SetupResultVariable]: value });
    expect(lines.some((line) => pattern.test(line))).toBe(true);
  });

  it('encodeSetupResult refuses what finalize could not read', () => {
    expect(() => encodeSetupResult({ ...setup, images: [] })).toThrow();
  });
});
