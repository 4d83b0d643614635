/** readConfig: dry-run, preflight and the GitHub deployment record inputs. */
import { describe, expect, it } from 'vitest';
import { base, deploy, useWorkspace } from './config-builders.js';

const { read, problems } = useWorkspace();

const Repo = { GITHUB_REPOSITORY: 'octo-org/shop', GITHUB_SHA: 'a'.repeat(40) };
const recording = {
  ...deploy,
  'github-deployment': 'true',
  'github-token': 'ghs_x',
  'github-environment': 'production',
};

describe('dry-run and preflight', () => {
  it('default to a real run with the preflight on', () => {
    expect(read(base)).toMatchObject({ dryRun: false, preflight: true });
  });

  it('read dry-run for every command, and preflight: false', () => {
    expect(read({ ...base, 'dry-run': 'true', preflight: 'false' })).toMatchObject({
      dryRun: true,
      preflight: false,
    });
    expect(problems({ ...base, preflight: 'maybe' })).toEqual([
      'Input "preflight" must be "true" or "false", got "maybe".',
    ]);
  });
});

describe('github-deployment', () => {
  it('is off by default and needs nothing then', () => {
    expect(read(base).github).toMatchObject({ enabled: false, token: '' });
  });

  it('reads the repository, the API URL and the environment, and masks the token', () => {
    const secrets: string[] = [];
    const config = read(recording, {
      env: { ...Repo, GITHUB_API_URL: 'https://ghe.example/api/v3/' },
      secrets,
    });
    expect(config.github).toEqual({
      enabled: true,
      token: 'ghs_x',
      environment: 'production',
      apiUrl: 'https://ghe.example/api/v3',
      owner: 'octo-org',
      repo: 'shop',
    });
    expect(secrets).toContain('ghs_x');
    expect(read(recording, { env: Repo }).github.apiUrl).toBe('https://api.github.com');
  });

  it('names every missing piece before any call', () => {
    expect(
      problems({ ...deploy, 'github-deployment': 'true', 'github-token': '${{ github.token }}' }, {}),
    ).toEqual([
      expect.stringMatching(/^Input "github-environment" must name the environment/),
      expect.stringMatching(/^Input "github-token" must be a token with "deployments: write"/),
      'Environment variable "GITHUB_REPOSITORY" must be "owner/name" when "github-deployment" is true, got "".',
      expect.stringMatching(/^Environment variable "GITHUB_SHA" must name the commit/),
    ]);
  });

  it('applies to the commands that roll something out', () => {
    expect(problems({ ...recording, command: 'cleanup' }, Repo)).toEqual([
      'Input "github-deployment" applies to the commands "deploy", "finalize", "refresh", "rollback", got it with command "cleanup".',
    ]);
  });

  it('refuses an environment name on several lines or over 255 characters', () => {
    expect(problems({ ...recording, 'github-environment': 'x'.repeat(256) }, Repo)).toEqual([
      expect.stringMatching(
        /^Input "github-environment" must be empty or an environment name of at most 255/,
      ),
    ]);
  });
});
