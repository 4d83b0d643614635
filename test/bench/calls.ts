/**
 * What a run cost in API requests, from the simulator's call log: requests per group by action (to
 * see whether polls are batched, i.e. stay flat as N grows), throttled answers and other errors.
 */
import type { CallRecord } from '../sim/index.js';

export interface CallStats {
  /** Every request the simulator answered, throttled and failed ones included. */
  readonly total: number;
  /** Requests by action; a preflight's DryRun requests count apart, as `<action> (DryRun)`. */
  readonly byAction: Readonly<Record<string, number>>;
  /** Answered RequestLimitExceeded / Throttling: each one the SDK had to retry. */
  readonly throttled: number;
  /** Other error answers (AWS errors the action handles, 5xx). */
  readonly errors: number;
  /** Error codes of `errors`, by code. */
  readonly errorCodes: Readonly<Record<string, number>>;
}

/** Counts a run's requests. */
export function callStats(calls: readonly CallRecord[]): CallStats {
  const byAction: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  let throttled = 0;
  let errors = 0;
  for (const call of calls) {
    const dryRun = call.params.DryRun === true;
    const action = dryRun ? `${call.action} (DryRun)` : call.action;
    byAction[action] = (byAction[action] ?? 0) + 1;
    if (call.outcome === 'throttled') throttled += 1;
    // DryRunOperation is how EC2 says "you may": the answer a preflight wants, not an error.
    if (call.outcome === 'error' && !(dryRun && call.code === 'DryRunOperation')) {
      errors += 1;
      const code = call.code ?? String(call.status);
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    }
  }
  return { total: calls.length, byAction, throttled, errors, errorCodes };
}
