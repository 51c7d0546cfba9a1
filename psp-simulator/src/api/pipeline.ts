// One API request, in order: authenticate → route → parse → idempotency (replay / mismatch /
// lock) → injected latency → injected error or timeout → run the handler → write through →
// store the idempotent response → answer. Faults never leave half-applied state: a handler
// runs completely or not at all.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { apiError, invalidRequest, StripeError } from '../core/errors.js';
import { apiVersion } from '../core/events.js';
import { requestContext } from '../core/requestContext.js';
import type { ApiLogEntry } from '../core/requestLog.js';
import type { Sim } from '../core/sim.js';
import { parseForm, readBody, send } from '../http/io.js';
import { present } from './expand.js';
import { requestHash, type IdempotencyKeys } from './idempotency.js';
import { stringList, type Params } from './params.js';
import { matchRoute } from './routes.js';
import type { ApiCall, ApiHandler } from './types.js';

interface Outcome {
  status: number;
  body: string;
}

export interface PipelineDeps {
  sim: Sim;
  idempotency: IdempotencyKeys;
  hangingTimers: Set<NodeJS.Timeout>;
}

type LogFields = Pick<ApiLogEntry, 'outcome' | 'applied' | 'status'>;

const apiKeyPattern = /^sk_test_[A-Za-z0-9_]+$/;

function apiKeyOf(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization ?? '';
  if (header.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  if (header.startsWith('Basic ')) return Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8').split(':')[0];
  return undefined;
}

function maskKey(key: string): string {
  return key.length <= 8 ? '***' : `${key.slice(0, 8)}${'*'.repeat(Math.min(key.length - 12, 20))}${key.slice(-4)}`;
}

function errorOutcome(error: StripeError): Outcome {
  return { status: error.status, body: JSON.stringify(error.body(), null, 2) };
}

export async function handleApiRequest(deps: PipelineDeps, request: IncomingMessage, response: ServerResponse, path: string, query: string): Promise<void> {
  const { sim } = deps;
  const startedMs = Date.now();
  const requestId = `req_${randomBytes(8).toString('hex')}`;
  const method = request.method ?? 'GET';
  const key = method === 'POST' ? (request.headers['idempotency-key'] as string | undefined) ?? null : null;
  const headers: Record<string, string> = { 'request-id': requestId, 'stripe-version': apiVersion, ...(key ? { 'idempotency-key': key } : {}) };
  const log = (fields: LogFields): void =>
    sim.log.add({ kind: 'api', at: new Date(startedMs).toISOString(), requestId, method, path, idempotencyKey: key, latencyMs: Date.now() - startedMs, ...fields });
  const answer = (outcome: Outcome, fields: Omit<LogFields, 'status'>, extra: Record<string, string> = {}): void => {
    send(response, outcome.status, 'application/json', outcome.body, { ...headers, ...extra });
    log({ ...fields, status: outcome.status });
  };

  const apiKey = apiKeyOf(request);
  if (!apiKey || !apiKeyPattern.test(apiKey)) {
    const message = apiKey ? `Invalid API Key provided: ${maskKey(apiKey)}` : 'You did not provide an API key.';
    return answer({ status: 401, body: JSON.stringify({ error: { type: 'invalid_request_error', message } }) }, { outcome: 'unauthorized', applied: false });
  }
  const matched = matchRoute(method, path);
  if (matched === undefined || matched === 'method_not_allowed') {
    const error = invalidRequest(`Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`);
    return answer({ status: 404, body: JSON.stringify(error.body()) }, { outcome: 'stripe_error', applied: false });
  }
  const params = parseForm(method === 'POST' ? await readBody(request) : query);
  const expand = stringList(params, 'expand');
  delete params.expand;

  if (key) {
    const admission = deps.idempotency.admit(key, requestHash(method, path, params));
    if (admission.kind === 'replay') {
      return answer({ status: admission.response.status, body: admission.response.body }, { outcome: 'idempotent_replay', applied: false }, { 'idempotent-replayed': 'true' });
    }
    if (admission.kind === 'mismatch') {
      const error = new StripeError(400, {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      });
      return answer(errorOutcome(error), { outcome: 'idempotency_conflict', applied: false });
    }
    if (admission.kind === 'in_use') {
      const error = new StripeError(409, {
        type: 'idempotency_error',
        code: 'idempotency_key_in_use',
        message: 'There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ' + key + '. Please try again later.',
      });
      return answer(errorOutcome(error), { outcome: 'idempotency_conflict', applied: false });
    }
  }

  try {
    await admitted(deps, request, response, { path, key, requestId, params, expand, handler: matched.route.handler, pathParams: matched.pathParams }, log, answer);
  } finally {
    // A no-op after a stored response; frees the key if anything above threw.
    if (key) deps.idempotency.release(key);
  }
}

interface Admitted {
  path: string;
  key: string | null;
  requestId: string;
  params: Params;
  expand: string[];
  handler: ApiHandler;
  pathParams: Record<string, string>;
}

async function admitted(
  deps: PipelineDeps,
  request: IncomingMessage,
  response: ServerResponse,
  call: Admitted,
  log: (fields: LogFields) => void,
  answer: (outcome: Outcome, fields: Omit<LogFields, 'status'>) => void,
): Promise<void> {
  const { sim } = deps;
  const { key } = call;
  // Latency counts as processing time: an idempotency key stays locked while it lasts.
  const faults = sim.faults.get();
  const faultable = sim.faults.appliesTo(call.path);
  if (faultable && faults.apiLatencyMs) await new Promise((resolve) => setTimeout(resolve, faults.apiLatencyMs));

  const run = async (): Promise<Outcome> => {
    const context = { requestId: call.requestId, idempotencyKey: key };
    const outcome = await requestContext.run(context, () => execute(sim, call.handler, { sim, params: call.params, pathParams: call.pathParams, path: call.path }, call.expand));
    if (key) deps.idempotency.complete(key, outcome.status, outcome.body);
    await sim.writer.flush();
    return outcome;
  };

  if (faultable && sim.faults.roll(faults.apiErrorRate)) {
    const outcome = errorOutcome(apiError());
    if (key) deps.idempotency.complete(key, outcome.status, outcome.body);
    await sim.writer.flush();
    return answer(outcome, { outcome: 'fault_api_error', applied: false });
  }
  if (faultable && sim.faults.roll(faults.apiTimeoutRate)) {
    const applied = Math.random() < 0.5;
    if (applied) await run();
    else if (key) deps.idempotency.release(key);
    log({ outcome: 'fault_timeout', applied, status: 0 });
    sim.logger.info({ requestId: call.requestId, method: request.method, path: call.path, applied }, 'psp simulator: injected timeout, withholding the response');
    return withhold(deps, request, response);
  }
  const outcome = await run();
  answer(outcome, { outcome: outcome.status < 400 ? 'ok' : 'stripe_error', applied: outcome.status < 500 });
}

async function execute(sim: Sim, handler: ApiHandler, call: ApiCall, expand: string[]): Promise<Outcome> {
  try {
    const result = handler(call);
    return { status: 200, body: JSON.stringify(present(sim, result, expand), null, 2) };
  } catch (error) {
    if (error instanceof StripeError) return errorOutcome(error);
    sim.logger.error({ err: error, path: call.path }, 'psp simulator: handler failed');
    return errorOutcome(apiError('An unexpected error occurred in the simulator.'));
  }
}

/** Like a PSP that timed out: no answer until the client gives up (or the cap), then the socket closes. */
function withhold(deps: PipelineDeps, request: IncomingMessage, response: ServerResponse): void {
  const timer = setTimeout(() => {
    deps.hangingTimers.delete(timer);
    request.socket.destroy();
  }, deps.sim.config.apiTimeoutHangMs);
  timer.unref();
  deps.hangingTimers.add(timer);
  response.on('close', () => {
    clearTimeout(timer);
    deps.hangingTimers.delete(timer);
  });
}
