/**
 * The inputs of GitHub deployment records: whether to record, with which token, for which
 * environment, and where GitHub's API is (GITHUB_API_URL on GitHub Enterprise Server).
 */
import { Inputs } from '../lib/constants.js';
import { quote, type Values } from './fields.js';
import type { GithubDeploymentConfig } from './types.js';

/** Commands that roll something out, so have something to record. */
const recordingCommands: readonly string[] = ['deploy', 'finalize', 'refresh', 'rollback'];

const DefaultApiUrl = 'https://api.github.com';

function repository(env: NodeJS.ProcessEnv): { owner: string; repo: string } | undefined {
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? '').split('/');
  return owner && repo && rest.length === 0 ? { owner, repo } : undefined;
}

/** Problems with the GitHub inputs; none unless `github-deployment` is true. */
export function githubChecks(v: Partial<Values>, env: NodeJS.ProcessEnv, problems: string[]): void {
  if (v[Inputs.GithubDeployment] !== true) return;
  const command = v[Inputs.Command];
  if (command !== undefined && !recordingCommands.includes(command))
    problems.push(
      `Input "github-deployment" applies to the commands ${recordingCommands.map(quote).join(', ')}, got it with command ${quote(command)}.`,
    );
  if (v[Inputs.GithubEnvironment] === '')
    problems.push(
      'Input "github-environment" must name the environment the deployment is for (for example "production") when "github-deployment" is true, got "".',
    );
  // The runner fills in `${{ github.token }}`; a workflow forwarding an empty value, or a run outside
  // Actions, would leave the expression or nothing.
  const token = v[Inputs.GithubToken] ?? '';
  if (token === '' || token.startsWith('${{'))
    problems.push(
      'Input "github-token" must be a token with "deployments: write" when "github-deployment" is true (the default is the job\'s token), got none.',
    );
  if (!repository(env))
    problems.push(
      `Environment variable "GITHUB_REPOSITORY" must be "owner/name" when "github-deployment" is true, got ${quote(env.GITHUB_REPOSITORY ?? '')}.`,
    );
  if (!env.GITHUB_SHA)
    problems.push(
      'Environment variable "GITHUB_SHA" must name the commit the deployment is for when "github-deployment" is true, got "".',
    );
  const apiUrl = env.GITHUB_API_URL ?? '';
  if (apiUrl !== '' && !URL.canParse(apiUrl))
    problems.push(`Environment variable "GITHUB_API_URL" must be a URL, got ${quote(apiUrl)}.`);
}

export function githubDeployment(v: Values, env: NodeJS.ProcessEnv): GithubDeploymentConfig {
  const enabled = v[Inputs.GithubDeployment];
  const repo = repository(env);
  return {
    enabled,
    token: enabled ? v[Inputs.GithubToken] : '',
    environment: v[Inputs.GithubEnvironment],
    apiUrl: (env.GITHUB_API_URL || DefaultApiUrl).replace(/\/+$/, ''),
    owner: repo?.owner ?? '',
    repo: repo?.repo ?? '',
  };
}
