/**
 * GitHub deployment records, end to end: the built action talks to a loopback fake of GitHub's REST
 * API (GITHUB_API_URL), and the fake sees, in order, one deployment for the commit and environment
 * and its statuses: in_progress, then success for a good run, failure for a failed group, error
 * when the run stops before rolling.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGithubApi, type FakeGithubApi } from '../helpers/github-api.js';
import { DeployScript, FailingScript, threeGroups, transcript, useFleet } from '../helpers/fleet.js';

const fleet = useFleet({ seed: threeGroups });
let github: FakeGithubApi;
beforeAll(async () => {
  github = await startFakeGithubApi();
});
afterAll(async () => {
  await github?.stop();
});
beforeEach(() => {
  github.requests.length = 0;
});

const Token = 'ghs_fakeDeploymentToken123';
const recording = (given: Record<string, string>) =>
  fleet().inputs({
    'asg-names': 'shop-worker',
    upload: 'build',
    'github-deployment': 'true',
    'github-token': Token,
    'github-environment': 'production',
    ...given,
  });
const env = () => ({ env: { GITHUB_API_URL: github.url } });

/** What the fake saw, one line per request, for an ordered comparison. */
const calls = (): string[] => github.requests.map((r) => `${r.method} ${r.path.replace(/\d+/g, 'N')}`);
const states = (): unknown[] => github.requests.slice(1).map((r) => r.body.state);

describe('github-deployment', () => {
  it('records one deployment and its statuses in_progress → success for a good run', async () => {
    const run = await fleet().main(recording({ 'deploy-script': DeployScript }), env());
    expect(run.exitCode, transcript(run)).toBe(0);
    expect(calls()).toEqual([
      'POST /repos/octo-org/shop/deployments',
      'POST /repos/octo-org/shop/deployments/N/statuses',
      'POST /repos/octo-org/shop/deployments/N/statuses',
    ]);
    const [create, progress, done] = github.requests;
    expect(create?.authorization).toBe(`token ${Token}`);
    expect(create?.body).toMatchObject({
      ref: run.job.vars.GITHUB_SHA,
      environment: 'production',
      auto_merge: false,
      required_contexts: [],
      transient_environment: false,
      payload: { command: 'deploy', dryRun: false, groups: { names: ['shop-worker'] } },
    });
    expect(states()).toEqual(['in_progress', 'success']);
    const runUrl = `https://github.com/octo-org/shop/actions/runs/${run.job.vars.GITHUB_RUN_ID}`;
    for (const status of [progress, done]) {
      expect(status?.body.log_url).toBe(runUrl);
      expect(String(status?.body.description).length).toBeLessThanOrEqual(140);
    }
    expect(done?.body.description).toBe('deploy: 1 group(s) rolled out');
    // The token is masked, and printed nowhere but in the mask command itself.
    expect(run.masks).toContain(Token);
    expect(run.stdout.split('\n').filter((line) => line.includes(Token))).toEqual([`::add-mask::${Token}`]);
  });

  it('ends with failure, naming the group, when a group fails', async () => {
    const run = await fleet().main(recording({ 'deploy-script': FailingScript }), env());
    expect(run.exitCode).toBe(1);
    expect(calls()).toHaveLength(3);
    expect(states()).toEqual(['in_progress', 'failure']);
    const description = String(github.requests[2]?.body.description);
    expect(description).toMatch(/^1 of 1 group\(s\) failed; shop-worker: /);
    expect(description.length).toBeLessThanOrEqual(140);
  });

  it('ends with error when the preflight stops the run, and a dry run is transient', async () => {
    fleet().sim.deny(['ec2:RunInstances']);
    const run = await fleet().main(recording({ 'deploy-script': DeployScript, 'dry-run': 'true' }), env());
    expect(run.exitCode).toBe(1);
    expect(github.requests[0]?.body.transient_environment).toBe(true);
    expect(states()).toEqual(['in_progress', 'error']);
    expect(String(github.requests[2]?.body.description)).toMatch(/^Dry run: 1 permission check\(s\) failed/);
  });

  it('fails before touching AWS when GitHub refuses the deployment', async () => {
    github.refuseDeployments(403, 'Resource not accessible by integration');
    const run = await fleet().main(recording({ 'deploy-script': DeployScript }), env());
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('Could not create the GitHub deployment for environment "production"');
    expect(fleet().sim.calls.filter((c) => !c.action.startsWith('Describe'))).toEqual([]);
    expect(calls()).toEqual(['POST /repos/octo-org/shop/deployments']);
  });
});
