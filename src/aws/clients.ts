/**
 * One factory for the SDK clients, so every call shares the same region, user agent and retry policy.
 * Adaptive retry mode gives each client one client-side rate limiter shared by all its calls: when
 * EC2 answers RequestLimitExceeded (or Auto Scaling Throttling), every in-flight pipeline slows down
 * together instead of each retrying on its own.
 * Endpoints come from the SDK's standard variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_EC2,
 * AWS_ENDPOINT_URL_AUTO_SCALING), exactly as for other AWS tools: that is how the simulator is used.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ActionName } from '../lib/constants.js';
import type { Clock, Logger } from '../lib/runtime.js';

export interface AwsClients {
  readonly ec2: EC2Client;
  readonly autoScaling: AutoScalingClient;
}

export interface ClientOptions {
  /** undefined: the SDK's default chain (AWS_REGION, profile…). */
  readonly region: string | undefined;
  /** Version string for the user agent. */
  readonly version: string;
  /** Attempts per call, throttling retries included. */
  readonly maxAttempts?: number;
}

/** Creates the EC2 and Auto Scaling clients the whole run shares. */
export function createClients(options: ClientOptions): AwsClients {
  const common = {
    ...(options.region ? { region: options.region } : {}),
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 10,
    customUserAgent: [[ActionName, options.version]] as [string, string][],
  };
  return {
    ec2: new EC2Client(common),
    autoScaling: new AutoScalingClient(common),
  };
}

/**
 * What every phase receives instead of reaching for globals: clients, a clock, a logger and the
 * run's abort signal. Tests hand in fakes (a fast clock, a recording logger, mocked clients).
 */
export interface Runtime extends AwsClients {
  readonly clock: Clock;
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM: long waits stop, cleanup still runs. */
  readonly signal: AbortSignal;
}
