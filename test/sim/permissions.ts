// Permissions: IAM actions the caller's role is denied (everything else is allowed, as for an
// administrator). EC2 refuses a denied call, DryRun or not, with UnauthorizedOperation (HTTP 403);
// Auto Scaling with AccessDenied (403). The message names the action, as AWS's does, so a
// preflight can say which permission is missing.
import type { ServiceName } from './codec.js';
import { SimError } from './errors.js';

/** The IAM prefix of each service's actions. */
const prefix: Record<ServiceName, string> = {
  ec2: 'ec2',
  autoscaling: 'autoscaling',
  'ec2-instance-connect': 'ec2-instance-connect',
};

export class Permissions {
  private readonly denied = new Set<string>();

  /** Denies IAM actions such as `ec2:RunInstances` or `autoscaling:StartInstanceRefresh`. */
  deny(actions: readonly string[]): void {
    for (const action of actions) this.denied.add(action.toLowerCase());
  }

  /** Allows everything again. */
  clear(): void {
    this.denied.clear();
  }

  list(): string[] {
    return [...this.denied];
  }

  /** Throws AWS's refusal when the call's IAM action is denied. */
  check(service: ServiceName, action: string, accountId: string): void {
    const iamAction = `${prefix[service]}:${action}`;
    if (!this.denied.has(iamAction.toLowerCase())) return;
    const who = `User: arn:aws:iam::${accountId}:user/test is not authorized to perform: ${iamAction}`;
    // EC2 Instance Connect's own refusal (HTTP 403 in its service model).
    if (service === 'ec2-instance-connect') throw new SimError('AuthException', who, 403);
    if (service === 'ec2')
      throw new SimError(
        'UnauthorizedOperation',
        `You are not authorized to perform this operation. ${who}`,
        403,
      );
    throw new SimError(
      'AccessDenied',
      `${who} because no identity-based policy allows the ${iamAction} action`,
      403,
    );
  }
}
