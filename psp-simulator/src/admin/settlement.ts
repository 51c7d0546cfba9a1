// The daily settlement file: one line per balance transaction created on a UTC day, amounts in
// major units per currency exponent, as Stripe's balance reports do.
import { formatMajor } from '../core/money.js';
import type { BalanceTransaction } from '../core/types.js';

export const settlementColumns = [
  'balance_transaction_id',
  'created_utc',
  'available_on_utc',
  'currency',
  'gross',
  'fee',
  'net',
  'reporting_category',
  'source_id',
  'payment_intent_id',
  'description',
] as const;

/** "2024-05-31" → [start, end) in unix seconds, or undefined when it is not a real date. */
export function utcDayRange(day: string): { startSeconds: number; endSeconds: number } | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return undefined;
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const startMs = Date.UTC(year, month - 1, date);
  const check = new Date(startMs);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== date) return undefined;
  return { startSeconds: startMs / 1000, endSeconds: startMs / 1000 + 86_400 };
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

export function settlementCsv(transactions: readonly BalanceTransaction[]): string {
  const lines = [settlementColumns.join(',')];
  for (const transaction of transactions) {
    const fields = [
      transaction.id,
      isoSeconds(transaction.created),
      isoSeconds(transaction.available_on),
      transaction.currency,
      formatMajor(transaction.amount, transaction.currency),
      formatMajor(transaction.fee, transaction.currency),
      formatMajor(transaction.net, transaction.currency),
      transaction.reporting_category,
      transaction.source ?? '',
      transaction.__sim.paymentIntentId ?? '',
      transaction.description ?? '',
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}
