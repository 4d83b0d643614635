/**
 * The documented per-use IAM policies (docs/iam/*.json) and their evaluation with
 * @cloud-copilot/iam-simulate (AGPL-3.0, a dev dependency used by tests only, never bundled).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { repoRoot } from './action-runner.js';
import { InstanceRoleName, type AuthRequest } from './iam-context.js';

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface Policy {
  Version: string;
  Statement: Statement[];
}

/** Each use of the action and its policy file under docs/iam/. */
export const Uses = ['deploy', 'split', 'refresh', 'cleanup', 'wait-idle', 'rollback'] as const;
export type Use = (typeof Uses)[number];

/** The account the simulator owns everything in. */
export const AccountId = '123456789012';
/** The placeholder users replace with their instances' role. */
export const RolePlaceholder = 'REPLACE-WITH-YOUR-INSTANCE-ROLE';

export const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
export const resourcesOf = (statement: Statement): string[] =>
  Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];

/** The policy file as documented. */
export async function readPolicy(use: Use): Promise<Policy> {
  return JSON.parse(await readFile(path.join(repoRoot, 'docs', 'iam', `${use}.json`), 'utf8')) as Policy;
}

/** The policy as a user fills it in: the placeholder role is the fixture's instance role. */
export function filledIn(policy: Policy): Policy {
  return JSON.parse(JSON.stringify(policy).replaceAll(RolePlaceholder, InstanceRoleName)) as Policy;
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** Every (policy, request) pair evaluated so far: the runs repeat the same Describe calls a lot. */
const cache = new Map<string, Promise<Decision>>();

/**
 * The decision of `policy` (an identity policy of a role in the simulator's account) on one request.
 * Throws when the simulator refuses the input (an unknown action, an ARN of the wrong type, a badly
 * typed context value) or would drop a context key that does not apply to the action and resource:
 * every key a request carries must be one AWS defines for it.
 */
export function decide(policy: Policy, request: AuthRequest): Promise<Decision> {
  const key = JSON.stringify([policy, request.action, request.resource, request.context]);
  let result = cache.get(key);
  if (!result) {
    result = evaluate(policy, request);
    cache.set(key, result);
  }
  return result;
}

async function evaluate(policy: Policy, request: AuthRequest): Promise<Decision> {
  const response = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${AccountId}:role/asg-rolling-deployer`,
        action: request.action,
        resource: { resource: request.resource, accountId: AccountId },
        contextVariables: { ...request.context },
      },
      identityPolicies: [{ name: 'asg-rolling', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  const where = `${request.action} on ${request.resource} (${request.why})`;
  if (response.resultType === 'error')
    throw new Error(`iam-simulate refused ${where}: ${JSON.stringify(response.errors)}`);
  const results = response.resultType === 'single' ? [response.result] : response.results;
  const ignored = results.flatMap((r) => r.ignoredContextKeys ?? []);
  if (ignored.length > 0)
    throw new Error(`context keys that do not apply to ${where}: ${ignored.join(', ')}`);
  return response.overallResult as Decision;
}

/** One line per request, for assertion messages. */
export function describeRequest(request: AuthRequest): string {
  return `${request.action} ${request.resource} [${request.why}] ${JSON.stringify(request.context)}`;
}
