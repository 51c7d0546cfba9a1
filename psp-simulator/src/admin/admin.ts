// /__admin/*: fault injection, the log, runtime config, adjustments, fee overrides, disputes
// (opened on a charge, closed with an outcome), the clock, settlement files. No authentication:
// a development tool.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { mergeRuntimeConfig } from '../core/config.js';
import { StripeError } from '../core/errors.js';
import { faultPatchSchema } from '../core/faults.js';
import type { Sim } from '../core/sim.js';
import { publicView, type BalanceTransaction, type PaymentIntent } from '../core/types.js';
import { parseJson, readBody, send, sendJson } from '../http/io.js';
import { createBalanceTransaction } from '../resources/balanceTransactions.js';
import { closeDispute, disputeCharge, disputeReasons } from '../resources/disputes.js';
import { settlementCsv, utcDayRange } from './settlement.js';

const adjustmentSchema = z.object({
  amount: z.number().int().min(-99_999_999).max(99_999_999).refine((value) => value !== 0, 'amount must not be 0'),
  currency: z.string().regex(/^[A-Za-z]{3}$/),
  description: z.string().max(500).optional(),
  fee: z.number().int().min(-99_999_999).max(99_999_999).optional(),
  source: z.string().max(200).optional(),
  type: z.string().max(50).optional(),
  reporting_category: z.string().max(50).optional(),
  payment_intent: z.string().max(200).optional(),
});

const feeOverrideSchema = z.object({ feeMinor: z.number().int().min(0).max(99_999_999) });
const disputeCloseSchema = z.object({ outcome: z.enum(['won', 'lost']) });
/** Opening a dispute on a charge: both optional (reason fraudulent, the whole undisputed amount); the charge bounds the amount. */
const chargeDisputeSchema = z.strictObject({ reason: z.enum(disputeReasons).optional(), amount: z.number().int().min(1).max(99_999_999).optional() });
const clockSchema = z.object({ advanceSeconds: z.number().int().min(0).max(366 * 86_400) });

type AdminResult = { status: number; json: unknown } | { status: number; csv: string };

function badRequest(message: string): AdminResult {
  return { status: 400, json: { error: { type: 'invalid_request_error', message } } };
}

async function body<T>(request: IncomingMessage, schema: z.ZodType<T>): Promise<{ ok: true; value: T } | { ok: false; result: AdminResult }> {
  let raw: unknown;
  try {
    raw = parseJson(await readBody(request));
  } catch {
    return { ok: false, result: badRequest('body must be JSON') };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, result: badRequest(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')) };
  return { ok: true, value: parsed.data };
}

async function route(sim: Sim, request: IncomingMessage, path: string, query: URLSearchParams): Promise<AdminResult> {
  const method = request.method ?? 'GET';
  const key = `${method} ${path
    .replace(/\/(pi|dp)_[A-Za-z0-9_]+\//, '/:id/')
    .replace(/^\/__admin\/charges\/[^/]+\/dispute$/, '/__admin/charges/:id/dispute')
    .replace(/\/settlements\/.*$/, '/settlements/:day')}`;
  switch (key) {
    case 'GET /__admin/faults':
      return { status: 200, json: sim.faults.get() };
    case 'POST /__admin/faults': {
      const patch = await body(request, faultPatchSchema);
      return patch.ok ? { status: 200, json: sim.faults.merge(patch.value) } : patch.result;
    }
    case 'DELETE /__admin/faults':
      sim.faults.clear();
      return { status: 200, json: sim.faults.get() };
    case 'GET /__admin/log': {
      const limit = query.get('limit');
      const entries = sim.log.query({ sinceIso: query.get('since') ?? undefined, limit: limit ? Number(limit) : undefined, kind: query.get('kind') ?? undefined });
      return { status: 200, json: { entries } };
    }
    case 'GET /__admin/config':
      return { status: 200, json: sim.config };
    case 'POST /__admin/config': {
      const patch = await body(request, z.record(z.string(), z.unknown()));
      if (!patch.ok) return patch.result;
      const problems = mergeRuntimeConfig(sim.config, patch.value);
      return problems.length > 0 ? badRequest(problems.join('; ')) : { status: 200, json: sim.config };
    }
    case 'GET /__admin/clock':
      return { status: 200, json: { nowSeconds: sim.clock.nowSeconds(), offsetSeconds: sim.clock.offsetSeconds() } };
    case 'POST /__admin/clock': {
      const patch = await body(request, clockSchema);
      if (!patch.ok) return patch.result;
      sim.clock.advance(patch.value.advanceSeconds);
      return { status: 200, json: { nowSeconds: sim.clock.nowSeconds(), offsetSeconds: sim.clock.offsetSeconds() } };
    }
    case 'GET /__admin/jobs':
      return { status: 200, json: { pending: sim.jobs.pendingCount() } };
    case 'POST /__admin/adjustments':
      return createAdjustment(sim, request);
    case 'POST /__admin/payment_intents/:id/fee_override':
      return overrideFee(sim, request, path);
    case 'POST /__admin/charges/:id/dispute':
      return openDisputeAdmin(sim, request, path);
    case 'POST /__admin/disputes/:id/close':
      return closeDisputeAdmin(sim, request, path);
    case 'GET /__admin/settlements/:day':
      return settlement(sim, path);
    default:
      return { status: 404, json: { error: { type: 'invalid_request_error', message: `Unknown admin endpoint ${method} ${path}` } } };
  }
}

async function createAdjustment(sim: Sim, request: IncomingMessage): Promise<AdminResult> {
  const input = await body(request, adjustmentSchema);
  if (!input.ok) return input.result;
  const value = input.value;
  const transaction = createBalanceTransaction(sim, {
    amount: value.amount,
    currency: value.currency.toLowerCase(),
    fee: value.fee ?? 0,
    type: value.type ?? 'adjustment',
    reportingCategory: value.reporting_category ?? 'other_adjustment',
    source: value.source ?? null,
    description: value.description ?? null,
    ...(value.payment_intent ? { paymentIntentId: value.payment_intent } : {}),
  });
  await sim.writer.flush();
  return { status: 200, json: publicView(transaction) };
}

async function overrideFee(sim: Sim, request: IncomingMessage, path: string): Promise<AdminResult> {
  const id = path.split('/')[3] ?? '';
  const paymentIntent = sim.store.get<PaymentIntent>(id, 'payment_intent');
  if (!paymentIntent) return { status: 404, json: { error: { type: 'invalid_request_error', message: `No such payment_intent: '${id}'` } } };
  const input = await body(request, feeOverrideSchema);
  if (!input.ok) return input.result;
  paymentIntent.__sim.feeOverrideMinor = input.value.feeMinor;
  sim.store.save(paymentIntent);
  await sim.writer.flush();
  return { status: 200, json: { payment_intent: id, feeMinor: input.value.feeMinor } };
}

async function openDisputeAdmin(sim: Sim, request: IncomingMessage, path: string): Promise<AdminResult> {
  const input = await body(request, chargeDisputeSchema);
  if (!input.ok) return input.result;
  try {
    const dispute = disputeCharge(sim, path.split('/')[3] ?? '', input.value);
    await sim.writer.flush();
    return { status: 200, json: publicView(dispute) };
  } catch (error) {
    if (error instanceof StripeError) return { status: error.status, json: error.body() };
    throw error;
  }
}

async function closeDisputeAdmin(sim: Sim, request: IncomingMessage, path: string): Promise<AdminResult> {
  const input = await body(request, disputeCloseSchema);
  if (!input.ok) return input.result;
  try {
    const dispute = closeDispute(sim, path.split('/')[3] ?? '', input.value.outcome);
    await sim.writer.flush();
    return { status: 200, json: publicView(dispute) };
  } catch (error) {
    if (error instanceof StripeError) return { status: error.status, json: error.body() };
    throw error;
  }
}

function settlement(sim: Sim, path: string): AdminResult {
  const match = /^\/__admin\/settlements\/(.+)\.csv$/.exec(path);
  const range = match?.[1] ? utcDayRange(match[1]) : undefined;
  if (!range) return badRequest('expected /__admin/settlements/YYYY-MM-DD.csv with a real date');
  const transactions = sim.store
    .all<BalanceTransaction>('balance_transaction')
    .filter((transaction) => transaction.created >= range.startSeconds && transaction.created < range.endSeconds);
  return { status: 200, csv: settlementCsv(transactions) };
}

export async function handleAdmin(sim: Sim, request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
  const result = await route(sim, request, path, query);
  if ('csv' in result) return send(response, result.status, 'text/csv; charset=utf-8', result.csv);
  sendJson(response, result.status, result.json);
}
