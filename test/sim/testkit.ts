// Shared bits of the simulator's own tests: SDK clients pointed at a simulator, polling for an end
// state, and driving a held clock until a state is reached.
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';

import type { Simulator } from './index.js';

export function clients(sim: Simulator, extra: { retryMode?: string; maxAttempts?: number } = {}) {
  const config = { ...sim.clientConfig(), ...extra };
  return { ec2: new EC2Client(config), asg: new AutoScalingClient(config) };
}

/** Polls fn until it returns a truthy value (or throws after timeoutMs). */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Advances the simulator's held clock stepMs at a time until fn returns a truthy value (checked before
 * the first step too); throws once limitMs of simulated time has passed without it. No real time is
 * involved, so the outcome does not depend on how busy the machine is.
 */
export async function advanceUntil<T>(
  sim: Simulator,
  fn: () => Promise<T> | T,
  { stepMs = 1_000, limitMs = 3_600_000 }: { stepMs?: number; limitMs?: number } = {},
): Promise<NonNullable<T>> {
  for (let passed = 0; ; passed += stepMs) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (passed >= limitMs) throw new Error(`advanceUntil: not reached within ${limitMs} simulated ms`);
    await sim.clock.advance(stepMs);
  }
}

/** The error a promise rejects with (fails if it resolves). */
export async function rejection(
  p: Promise<unknown>,
): Promise<Error & { name: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { name: string };
  }
  throw new Error('expected a rejection');
}
