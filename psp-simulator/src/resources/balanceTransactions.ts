// Balance transactions (txn_): one for every movement of money at the PSP. Credits become
// available `availableDays` after creation; debits (refunds, payouts, transfers, disputes)
// are available at once, as Stripe takes them from the available balance immediately.
import { noSuchObject } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Sim } from '../core/sim.js';
import type { BalanceTransaction } from '../core/types.js';
import { fieldEquals, listObjects, type ListResponse } from '../api/list.js';
import { optionalString, type Params } from '../api/params.js';

export interface BalanceTransactionInput {
  amount: number;
  currency: string;
  fee: number;
  feeType?: string;
  type: string;
  reportingCategory: string;
  source: string | null;
  description: string | null;
  paymentIntentId?: string;
  payoutId?: string;
}

const secondsPerDay = 86_400;

export function createBalanceTransaction(sim: Sim, input: BalanceTransactionInput): BalanceTransaction {
  const created = sim.clock.nowSeconds();
  const isCredit = input.amount > 0;
  const availableOn = isCredit ? created + sim.config.availableDays * secondsPerDay : created;
  const transaction: BalanceTransaction = {
    id: newId('txn'),
    object: 'balance_transaction',
    amount: input.amount,
    currency: input.currency,
    created,
    available_on: availableOn,
    description: input.description,
    exchange_rate: null,
    fee: input.fee,
    fee_details:
      input.fee === 0
        ? []
        : [{ amount: input.fee, currency: input.currency, type: input.feeType ?? 'stripe_fee', description: 'Stripe processing fees', application: null }],
    net: input.amount - input.fee,
    reporting_category: input.reportingCategory,
    source: input.source,
    status: availableOn <= created ? 'available' : 'pending',
    type: input.type,
    __sim: {
      ...(input.paymentIntentId ? { paymentIntentId: input.paymentIntentId } : {}),
      ...(input.payoutId ? { payoutId: input.payoutId } : {}),
    },
  };
  sim.store.save(transaction);
  return transaction;
}

/** `status` is computed when served: pending until available_on has passed. */
export function withCurrentStatus(sim: Sim, transaction: BalanceTransaction): BalanceTransaction {
  const status = transaction.available_on <= sim.clock.nowSeconds() ? 'available' : 'pending';
  return status === transaction.status ? transaction : { ...transaction, status };
}

export function retrieveBalanceTransaction(sim: Sim, id: string): BalanceTransaction {
  const transaction = sim.store.get<BalanceTransaction>(id, 'balance_transaction');
  if (!transaction) throw noSuchObject('balance transaction', id);
  return withCurrentStatus(sim, transaction);
}

export function listBalanceTransactions(sim: Sim, params: Params): ListResponse {
  const payout = optionalString(params, 'payout');
  const list = listObjects<BalanceTransaction>(sim.store, 'balance_transaction', '/v1/balance_transactions', params, [
    fieldEquals(params, 'type'),
    fieldEquals(params, 'source'),
    fieldEquals(params, 'currency'),
    payout === undefined ? undefined : (transaction) => transaction.__sim.payoutId === payout || transaction.source === payout,
  ]);
  return { ...list, data: list.data.map((transaction) => withCurrentStatus(sim, transaction as BalanceTransaction)) };
}

interface BalanceAmount {
  amount: number;
  currency: string;
  source_types: { card: number };
}

export function retrieveBalance(sim: Sim): Record<string, unknown> {
  const nowSeconds = sim.clock.nowSeconds();
  const available = new Map<string, number>();
  const pending = new Map<string, number>();
  for (const transaction of sim.store.all<BalanceTransaction>('balance_transaction')) {
    const bucket = transaction.available_on <= nowSeconds ? available : pending;
    bucket.set(transaction.currency, (bucket.get(transaction.currency) ?? 0) + transaction.net);
  }
  const toList = (bucket: Map<string, number>): BalanceAmount[] =>
    [...bucket.entries()].map(([currency, amount]) => ({ amount, currency, source_types: { card: amount } }));
  const currencies = new Set([...available.keys(), ...pending.keys()]);
  for (const currency of currencies) {
    if (!available.has(currency)) available.set(currency, 0);
    if (!pending.has(currency)) pending.set(currency, 0);
  }
  return { object: 'balance', livemode: false, available: toList(available), pending: toList(pending) };
}
