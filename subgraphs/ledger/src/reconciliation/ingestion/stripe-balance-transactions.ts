// One UTC day of balance transactions through the official stripe SDK: created[gte]/[lt] for
// the day, auto-pagination (100 per page), the source expanded so charges, refunds and disputes
// name their payment intent. Normalized into the same PspLine as the settlement file.
import type Stripe from 'stripe';
import { createStripeClient, isSupportedCurrency } from '@clearhouse/shared';
import { utcDayRange } from '../domain/day.js';
import type { PspLine, UtcDay } from '../domain/types.js';
import { SETTLEMENT_LINES_MAX } from './settlement-csv.js';

export interface StripeSourceOptions {
  readonly apiKey: string;
  /** e.g. http://localhost:4010 (the simulator); null talks to Stripe itself. */
  readonly apiBase: string | null;
  readonly timeoutMs: number;
}

export function createReconciliationStripe(options: StripeSourceOptions): Stripe {
  // Reads only: the SDK's retries (with backoff) are safe and bounded.
  return createStripeClient({ ...options, maxNetworkRetries: 2 });
}

export class BalanceTransactionFormatError extends Error {
  override readonly name = 'BalanceTransactionFormatError';
}

function idOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string') return (value as { id: string }).id;
  return null;
}

function paymentIntentOf(source: unknown): string | null {
  if (source === null || typeof source !== 'object') return null;
  const record = source as Record<string, unknown>;
  if (record.object === 'payment_intent') return idOf(record);
  return idOf(record.payment_intent);
}

function integer(value: unknown, what: string, id: string): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new BalanceTransactionFormatError(`${id}: ${what} is not an integer`);
  return BigInt(value);
}

export function lineFromBalanceTransaction(transaction: Stripe.BalanceTransaction): PspLine {
  const id = transaction.id;
  const currency = String(transaction.currency).toUpperCase();
  if (!isSupportedCurrency(currency)) throw new BalanceTransactionFormatError(`${id}: unsupported currency ${JSON.stringify(transaction.currency)}`);
  const grossMinor = integer(transaction.amount, 'amount', id);
  const feeMinor = integer(transaction.fee, 'fee', id);
  const netMinor = integer(transaction.net, 'net', id);
  if (grossMinor - feeMinor !== netMinor) throw new BalanceTransactionFormatError(`${id}: net is not amount minus fee`);
  return {
    balanceTransactionId: id,
    createdAt: new Date(transaction.created * 1000),
    availableOn: typeof transaction.available_on === 'number' ? new Date(transaction.available_on * 1000) : null,
    currency,
    grossMinor,
    feeMinor,
    netMinor,
    type: transaction.type,
    reportingCategory: transaction.reporting_category,
    sourceId: idOf(transaction.source),
    paymentIntentId: paymentIntentOf(transaction.source),
    description: transaction.description ?? null,
  };
}

/**
 * Every balance transaction created on `day`, oldest first. Bounded by linesMax; the SDK's
 * auto-pagination follows has_more/starting_after.
 */
export async function fetchBalanceTransactions(
  stripe: Stripe,
  day: UtcDay,
  options: { linesMax?: number; onProgress?: (fetched: number) => void } = {},
): Promise<PspLine[]> {
  const range = utcDayRange(day);
  if (range === undefined) throw new Error(`not a UTC day: ${JSON.stringify(day)}`);
  const linesMax = options.linesMax ?? SETTLEMENT_LINES_MAX;
  const lines: PspLine[] = [];
  const seen = new Set<string>();
  const list = stripe.balanceTransactions.list({
    created: { gte: Math.floor(range.start.getTime() / 1000), lt: Math.floor(range.end.getTime() / 1000) },
    limit: 100,
    expand: ['data.source'],
  });
  for await (const transaction of list) {
    if (seen.has(transaction.id)) continue;
    if (lines.length >= linesMax) throw new Error(`more than ${linesMax} balance transactions on ${day}`);
    seen.add(transaction.id);
    lines.push(lineFromBalanceTransaction(transaction));
    if (options.onProgress && lines.length % 500 === 0) options.onProgress(lines.length);
  }
  // Lists are newest first; reconcile in creation order like the settlement file.
  return lines.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.balanceTransactionId.localeCompare(b.balanceTransactionId));
}
