// HTTP front: the EC2 and Auto Scaling Query protocols on one port (told apart by Version, else by the
// action name), with response latency, throttling, fault injection and a call log around every call.
// EC2 Instance Connect's JSON 1.1 calls are told apart by their X-Amz-Target header.
// Signatures are not checked. Everything under /_sim is the control API, a path AWS never uses.
import { randomUUID } from 'node:crypto';
import http from 'node:http';

import { autoscalingHandlers } from './autoscaling.js';
import { decodeInput, encodeOutput, operationSchemas, type Service, type ServiceName } from './codec.js';
import { control } from './control.js';
import { imageAttributeHandlers } from './ec2-image-attributes.js';
import { imageHandlers } from './ec2-images.js';
import { instanceHandlers } from './ec2-instances.js';
import { templateHandlers } from './ec2-templates.js';
import { volumeHandlers } from './ec2-volumes.js';
import { SimError } from './errors.js';
import type { Handler } from './handler.js';
import { answerJson, instanceConnectEndpointHandlers } from './instance-connect.js';
import { warmPoolHandlers } from './warm-pools.js';
import type { World } from './world.js';
import { errorXml, successXml } from './xml.js';

export const handlers: Record<Service, Record<string, Handler>> = {
  ec2: {
    ...instanceHandlers,
    ...imageHandlers,
    ...imageAttributeHandlers,
    ...templateHandlers,
    ...volumeHandlers,
    ...instanceConnectEndpointHandlers,
  },
  autoscaling: { ...autoscalingHandlers, ...warmPoolHandlers },
};

export interface CallRecord {
  seq: number;
  time: string;
  service: ServiceName;
  action: string;
  /** The SDK-shaped input (what the client asked for). */
  params: Record<string, unknown>;
  outcome: 'ok' | 'error' | 'throttled';
  code?: string;
  status: number;
  /** Real milliseconds spent answering. */
  ms: number;
  /** What `world.observer` returned just before the handler ran (absent without an observer). */
  observed?: unknown;
}

const throttleError: Record<Service, SimError> = {
  ec2: new SimError('RequestLimitExceeded', 'Request limit exceeded.', 503),
  autoscaling: new SimError('Throttling', 'Rate exceeded', 400),
};

const serverError: Record<Service, SimError> = {
  ec2: new SimError('InternalError', 'An internal error has occurred', 500),
  autoscaling: new SimError('InternalFailure', 'An internal error has occurred', 500),
};

export class Calls {
  list: CallRecord[] = [];
  private seq = 0;
  add(call: Omit<CallRecord, 'seq'>): void {
    this.list.push({ seq: ++this.seq, ...call });
  }
  clear(): void {
    this.list = [];
  }
}

function serviceOf(version: string | null, action: string): Service {
  if (version === '2011-01-01') return 'autoscaling';
  if (version === '2016-11-15') return 'ec2';
  return handlers.autoscaling[action] ? 'autoscaling' : 'ec2';
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function answer(
  world: World,
  calls: Calls,
  params: URLSearchParams,
): Promise<{ status: number; body: string; requestId: string }> {
  const started = performance.now();
  const action = params.get('Action') ?? '';
  const service = serviceOf(params.get('Version'), action);
  const requestId = randomUUID();
  let input: Record<string, unknown> = {};
  let outcome: CallRecord['outcome'] = 'ok';
  let error: SimError | undefined;
  let body: string;
  let observed: unknown;
  try {
    const schemas = operationSchemas(service, action);
    const handler = handlers[service][action];
    if (!schemas || !handler)
      throw new SimError(
        'InvalidAction',
        `The action ${action || '(none)'} is not valid for this web service.`,
      );
    input = decodeInput(service, schemas.input, params);
    const fault = world.faults.forCall(service, action, input);
    const delay = world.clock.scaled(world.latency.response(action)) + fault.delayMs;
    if (delay > 0) await realSleep(delay);
    if (!world.throttle.take(service, action, input)) {
      outcome = 'throttled';
      throw throttleError[service];
    }
    const injected = (): SimError | undefined => {
      const failure = fault.fail?.error;
      if (failure === 'throttle') {
        outcome = 'throttled';
        return throttleError[service];
      }
      if (failure === 'server') return serverError[service];
      if (failure)
        return new SimError(
          failure.code,
          failure.message ?? `Injected fault: ${failure.code}`,
          failure.status ?? 400,
        );
      return undefined;
    };
    const lostResponse = fault.fail?.afterEffect === true;
    const before = lostResponse ? undefined : injected();
    if (before) throw before;
    // Synchronous with the handler: the observer sees the state exactly as the handler finds it.
    // Before the DryRun answer, since AWS authorizes a DryRun request exactly as the real one.
    observed = world.observer?.({ service, action, params: input }, world.state);
    // Permission first: a denied DryRun answers UnauthorizedOperation, an allowed one DryRunOperation.
    world.permissions.check(service, action, world.state.accountId);
    if (service === 'ec2' && input.DryRun === true) {
      throw new SimError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
    }
    const output = handler(input, world) ?? {};
    // The call took effect; only its answer is lost, as when a response times out on the way back.
    const after = lostResponse ? injected() : undefined;
    if (after) throw after;
    body = successXml(
      service,
      action,
      requestId,
      encodeOutput(schemas.output, output as Record<string, unknown>),
    );
  } catch (err) {
    error = err instanceof SimError ? err : serverError[service];
    if (!(err instanceof SimError)) console.error(`sim: ${action} failed:`, err);
    if (outcome === 'ok') outcome = 'error';
    body = errorXml(service, error.code, error.message, requestId, error.status);
  }
  const status = error?.status ?? 200;
  calls.add({
    time: new Date().toISOString(),
    service,
    action,
    params: input,
    outcome,
    code: error?.code,
    status,
    ms: performance.now() - started,
    ...(observed === undefined ? {} : { observed }),
  });
  return { status, body, requestId };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function createServer(world: World, calls: Calls, sim: Parameters<typeof control>[0]): http.Server {
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const text = await readBody(req);
      if (url.pathname.startsWith('/_sim')) {
        const out = await control(sim, req.method ?? 'GET', url, text);
        res.writeHead(out.status, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(out.body, null, 1));
      }
      // EC2 Instance Connect speaks JSON 1.1: the action is in X-Amz-Target, the input is the body.
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && target) {
        const out = await answerJson(world, calls, target, text);
        res.writeHead(out.status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': out.requestId,
          ...(out.errorType ? { 'x-amzn-errortype': out.errorType } : {}),
        });
        return res.end(out.body);
      }
      const params = new URLSearchParams(url.search);
      for (const [k, v] of new URLSearchParams(text)) params.append(k, v);
      const out = await answer(world, calls, params);
      res.writeHead(out.status, {
        'content-type': 'text/xml;charset=UTF-8',
        'x-amzn-requestid': out.requestId,
      });
      res.end(out.body);
    })().catch((err: unknown) => {
      console.error('sim: request failed:', err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // Node closes idle keep-alive sockets after 5 s, racing clients that reuse them ("socket hang up").
  // AWS endpoints keep idle connections far longer; so does the simulator (stop() destroys them all).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}
