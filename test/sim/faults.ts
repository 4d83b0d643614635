// Fault injection. Three kinds:
//  - 'api': make matching calls fail (an error code, a throttle, a 5xx) and/or answer slowly;
//  - 'image': an AMI being created ends `failed` instead of `available`;
//  - 'refresh': a group's Instance Refresh fails part-way (Failed, or rolled back when AutoRollback).
// Rules are plain data (plus an optional predicate) so they can also be posted to /_sim/faults as JSON.
import type { ServiceName } from './codec.js';

export interface ApiFault {
  kind: 'api';
  /** Action name(s); omitted = every action. */
  action?: string | string[];
  service?: ServiceName;
  /** Fail only the Nth matching call (1-based). */
  nth?: number;
  /** At most this many failures (default: 1 with `nth`, unlimited otherwise). */
  times?: number;
  /** Fraction (0..1) of matching calls that fail. */
  probability?: number;
  /** Matches when every dotted path of the SDK-shaped input equals the value, e.g.
   *  { 'LaunchTemplate.LaunchTemplateName': 'web' } for RunInstances. */
  where?: Record<string, unknown>;
  /** Programmatic predicate on the SDK-shaped input. */
  match?: (input: Record<string, unknown>, action: string) => boolean;
  /** 'throttle' answers the service's throttling error; 'server' an internal error (HTTP 500). */
  error?: { code: string; message?: string; status?: number } | 'throttle' | 'server';
  /** Extra response delay in real milliseconds (slow responses); alone it does not fail the call. */
  delayMs?: number;
  /** The call is carried out and only then answered with `error`: its response was lost. */
  afterEffect?: boolean;
  /**
   * Also match EC2 DryRun requests. Off by default: a DryRun is answered before the work that
   * injected faults stand for (capacity, a slow or failing launch), so a fault meant for the
   * launch must not fail the permission check that precedes it.
   */
  dryRun?: boolean;
}

export interface ImageFault {
  kind: 'image';
  /** Image name glob (`*` wildcard); omitted = any. */
  name?: string;
  /** Source instance id; omitted = any. */
  instanceId?: string;
  times?: number;
}

export interface RefreshFault {
  kind: 'refresh';
  /** Auto Scaling group name (glob). */
  group: string;
  /** Failed (no rollback), or the end state after a rollback when AutoRollback is set. */
  outcome: 'Failed' | 'RollbackSuccessful' | 'RollbackFailed';
  /** Fail once PercentageComplete reaches this (default 50). */
  atPercent?: number;
  times?: number;
}

export type Fault = ApiFault | ImageFault | RefreshFault;
export type FaultEntry = Fault & { id: string; seen: number; fired: number };

export const globMatch = (pattern: string, value: string): boolean => {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(value);
};

const pick = (obj: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      obj,
    );

export class Faults {
  private entries: FaultEntry[] = [];
  private next = 1;

  add(fault: Fault): string {
    const id = `fault-${this.next++}`;
    this.entries.push({ ...fault, id, seen: 0, fired: 0 });
    return id;
  }

  remove(id: string): void {
    this.entries = this.entries.filter((e) => e.id !== id);
  }

  clear(): void {
    this.entries = [];
  }

  list(): FaultEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  private exhausted(e: FaultEntry & { times?: number; nth?: number }): boolean {
    const limit = e.times ?? (e.nth !== undefined ? 1 : Infinity);
    return e.fired >= limit;
  }

  /** The api faults that apply to this call: the first failing one (if any) and the total extra delay. */
  forCall(
    service: ServiceName,
    action: string,
    input: Record<string, unknown>,
  ): { fail?: ApiFault; delayMs: number } {
    let fail: ApiFault | undefined;
    let delayMs = 0;
    for (const e of this.entries) {
      if (e.kind !== 'api' || this.exhausted(e)) continue;
      if (input.DryRun === true && !e.dryRun) continue;
      if (e.service && e.service !== service) continue;
      const actions = e.action === undefined ? undefined : [e.action].flat();
      if (actions && !actions.includes(action)) continue;
      if (e.where && !Object.entries(e.where).every(([p, v]) => pick(input, p) === v)) continue;
      if (e.match && !e.match(input, action)) continue;
      e.seen += 1;
      if (e.nth !== undefined && e.seen !== e.nth) continue;
      if (e.probability !== undefined && Math.random() >= e.probability) continue;
      if (e.delayMs) delayMs += e.delayMs;
      if (e.error && !fail) {
        e.fired += 1;
        fail = e;
      } else if (!e.error) e.fired += 1;
    }
    return { fail, delayMs };
  }

  imageFails(name: string, instanceId: string): boolean {
    const e = this.entries.find(
      (f): f is FaultEntry & ImageFault =>
        f.kind === 'image' &&
        !this.exhausted(f) &&
        (f.name === undefined || globMatch(f.name, name)) &&
        (f.instanceId === undefined || f.instanceId === instanceId),
    );
    if (e) e.fired += 1;
    return !!e;
  }

  refreshFault(group: string): (RefreshFault & { atPercent: number }) | undefined {
    const e = this.entries.find(
      (f): f is FaultEntry & RefreshFault =>
        f.kind === 'refresh' && !this.exhausted(f) && globMatch(f.group, group),
    );
    if (!e) return undefined;
    e.fired += 1;
    return { ...e, atPercent: e.atPercent ?? 50 };
  }
}
