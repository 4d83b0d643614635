/**
 * The run's record on GitHub's Environments page: one Deployment for the commit and environment,
 * then `in_progress` and one final status. GitHub fixes a deployment's payload when it is created,
 * so it holds what is known then (the command, the run, the selection); the final status says what
 * became of it, within GitHub's 140 characters, with a link to the run.
 */
import { getOctokit } from '@actions/github';
import type { Config } from '../config/index.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/runtime.js';

/** GitHub refuses a status description over 140 characters. */
export const MaxStatusDescription = 140;

export type FinalState = 'success' | 'failure' | 'error';

/** Cuts a description to what GitHub accepts, marking the cut. */
export function statusDescription(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= MaxStatusDescription ? line : `${line.slice(0, MaxStatusDescription - 1)}…`;
}

/** What the final status says: the state, and the description for it. */
export function finalStatus(outcome: {
  readonly command: string;
  readonly dryRun: boolean;
  readonly groups: number;
  readonly failures: readonly { readonly group: string; readonly error: string }[];
  readonly errors: readonly string[];
}): { state: FinalState; description: string } {
  const [error] = outcome.errors;
  if (error !== undefined) return { state: 'error', description: statusDescription(error) };
  const [first] = outcome.failures;
  if (first)
    return {
      state: 'failure',
      description: statusDescription(
        `${outcome.failures.length} of ${outcome.groups} group(s) failed; ${first.group}: ${first.error}`,
      ),
    };
  return {
    state: 'success',
    description: statusDescription(
      outcome.dryRun
        ? `Dry run of ${outcome.command}: plan and permission checks, nothing changed`
        : `${outcome.command}: ${outcome.groups} group(s) rolled out`,
    ),
  };
}

type Octokit = ReturnType<typeof getOctokit>;

export class GithubDeployment {
  private constructor(
    private readonly octokit: Octokit,
    private readonly config: Config,
    readonly id: number,
    private readonly log: Logger,
  ) {}

  /**
   * Creates the deployment and its `in_progress` status. Throws when GitHub refuses, before anything
   * in AWS is touched: a run asked to leave a record must not deploy without one.
   */
  static async start(config: Config, log: Logger): Promise<GithubDeployment> {
    const { github, run } = config;
    const octokit = getOctokit(github.token, { baseUrl: github.apiUrl });
    let id: number;
    try {
      const created = await octokit.rest.repos.createDeployment({
        owner: github.owner,
        repo: github.repo,
        ref: run.commit,
        environment: github.environment,
        auto_merge: false,
        required_contexts: [],
        transient_environment: config.dryRun,
        description: statusDescription(`asg-rolling ${config.command}${config.dryRun ? ' (dry run)' : ''}`),
        payload: {
          command: config.command,
          dryRun: config.dryRun,
          runId: run.runId,
          commit: run.commit,
          groups: {
            names: [...config.selection.names],
            tags: config.selection.tags.map((t) => `${t.key}=${t.value}`),
          },
        },
      });
      if (!('id' in created.data)) throw new Error(created.data.message ?? 'GitHub created no deployment');
      id = created.data.id;
    } catch (error) {
      throw new Error(
        `Could not create the GitHub deployment for environment "${github.environment}" (the token needs deployments: write): ${errorMessage(error)}`,
        { cause: error },
      );
    }
    const deployment = new GithubDeployment(octokit, config, id, log);
    log.info(`GitHub deployment ${id} for ${github.environment}`);
    await deployment.status('in_progress', statusDescription(`asg-rolling ${config.command} running`));
    return deployment;
  }

  /** The final status; a refusal is a warning, since the run itself is over by then. */
  async finish(state: FinalState, description: string): Promise<void> {
    await this.status(state, description);
  }

  private async status(state: 'in_progress' | FinalState, description: string): Promise<void> {
    const { github, run } = this.config;
    try {
      await this.octokit.rest.repos.createDeploymentStatus({
        owner: github.owner,
        repo: github.repo,
        deployment_id: this.id,
        state,
        description,
        ...(run.runUrl ? { log_url: run.runUrl } : {}),
      });
    } catch (error) {
      this.log.warning(`Could not set GitHub deployment ${this.id} to ${state}: ${errorMessage(error)}`);
    }
  }
}
