// /v1/payouts: pending → in_transit → paid after payoutDelayMs, or failed when the
// destination is a magic failing one (see failingDestinations and the README).
import { noSuchObject } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { jobKinds } from '../core/jobKinds.js';
import type { Job } from '../core/jobs.js';
import type { Sim } from '../core/sim.js';
import type { Payout } from '../core/types.js';
import { fieldEquals, listObjects } from '../api/list.js';
import { applyMetadata, optionalString, requiredAmount, requiredCurrency } from '../api/params.js';
import type { ApiCall } from '../api/types.js';
import { createBalanceTransaction } from './balanceTransactions.js';

export const failingDestinations: Record<string, { code: string; message: string }> = {
  _fail_closed: { code: 'account_closed', message: 'The bank account has been closed.' },
  _fail_insufficient: { code: 'insufficient_funds', message: 'Your Stripe account has insufficient funds to cover the payout.' },
  _fail_invalid: { code: 'invalid_account_number', message: 'The routing number seems correct, but the account number is invalid.' },
  _fail_frozen: { code: 'account_frozen', message: 'The bank account has been frozen.' },
  _fail_declined: { code: 'declined', message: 'The bank has declined this transfer.' },
};

export function failureFor(destination: string | null): { code: string; message: string } | undefined {
  if (!destination) return undefined;
  const suffix = Object.keys(failingDestinations).find((ending) => destination.endsWith(ending));
  return suffix === undefined ? undefined : failingDestinations[suffix];
}

export function createPayout({ sim, params }: ApiCall): object {
  // Every parameter is read before anything is written: a rejected request moves no money.
  const amount = requiredAmount(params, 'amount');
  const currency = requiredCurrency(params);
  const description = optionalString(params, 'description') ?? null;
  const destination = optionalString(params, 'destination') ?? null;
  const metadata = applyMetadata({}, params);
  const method = optionalString(params, 'method') ?? 'standard';
  const statementDescriptor = optionalString(params, 'statement_descriptor') ?? null;
  const id = newId('po');
  const created = sim.clock.nowSeconds();
  const transaction = createBalanceTransaction(sim, {
    amount: -amount,
    currency,
    fee: 0,
    type: 'payout',
    reportingCategory: 'payout',
    source: id,
    description: description ?? 'STRIPE PAYOUT',
    payoutId: id,
  });
  const payout: Payout = {
    id,
    object: 'payout',
    amount,
    arrival_date: created + sim.config.availableDays * 86_400,
    automatic: false,
    balance_transaction: transaction.id,
    created,
    currency,
    description,
    destination,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata,
    method,
    statement_descriptor: statementDescriptor,
    status: 'pending',
    type: 'bank_account',
  };
  sim.store.save(payout);
  sim.events.emit('payout.created', payout);
  sim.jobs.schedule(jobKinds.payoutAdvance, Math.floor(sim.config.payoutDelayMs / 2), { payoutId: id });
  return payout;
}

/** First run: pending → in_transit; second run: in_transit → paid or failed. */
export async function advancePayout(sim: Sim, job: Job): Promise<void> {
  const payout = sim.store.get<Payout>(job.data.payoutId ?? '', 'payout');
  if (payout?.status === 'pending') {
    sim.store.save({ ...payout, status: 'in_transit' });
    sim.jobs.schedule(job.kind, Math.ceil(sim.config.payoutDelayMs / 2), job.data, job);
  } else {
    if (payout?.status === 'in_transit') finishPayout(sim, payout);
    sim.jobs.complete(job);
  }
  await sim.writer.flush();
}

function finishPayout(sim: Sim, payout: Payout): void {
  const failure = failureFor(payout.destination);
  if (!failure) {
    const paid: Payout = { ...payout, status: 'paid' };
    sim.store.save(paid);
    sim.events.emit('payout.paid', paid, { status: 'in_transit' });
    return;
  }
  const reversal = createBalanceTransaction(sim, {
    amount: payout.amount,
    currency: payout.currency,
    fee: 0,
    type: 'payout_failure',
    reportingCategory: 'payout_reversal',
    source: payout.id,
    description: `Payout failure: ${failure.code}`,
    payoutId: payout.id,
  });
  const failed: Payout = { ...payout, status: 'failed', failure_code: failure.code, failure_message: failure.message, failure_balance_transaction: reversal.id };
  sim.store.save(failed);
  sim.events.emit('payout.failed', failed, { status: 'in_transit' });
}

export function retrievePayout({ sim, pathParams }: ApiCall): object {
  const id = pathParams.id ?? '';
  const payout = sim.store.get(id, 'payout');
  if (!payout) throw noSuchObject('payout', id, 'payout');
  return payout;
}

export function listPayouts({ sim, params }: ApiCall): object {
  return listObjects<Payout>(sim.store, 'payout', '/v1/payouts', params, [fieldEquals(params, 'status'), fieldEquals(params, 'destination')]);
}
