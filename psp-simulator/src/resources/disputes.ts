// Disputes (dp_): arrive disputeDelayMs after a successful payment with the dispute test card, or
// when the admin endpoint opens one on an existing captured charge (funds and a dispute fee are
// withdrawn at once); closed by the admin endpoint (won returns the funds, the fee is kept, as
// Stripe does in most countries) or by /v1/disputes/:id/close (accepting the dispute = lost).
import { invalidRequest, noSuchObject } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertPspAmountStep } from '../core/money.js';
import type { Job } from '../core/jobs.js';
import type { Sim } from '../core/sim.js';
import { publicView, type Charge, type Dispute } from '../core/types.js';
import { fieldEquals, listObjects } from '../api/list.js';
import type { ApiCall } from '../api/types.js';
import { createBalanceTransaction } from './balanceTransactions.js';

const evidenceDueSeconds = 7 * 86_400;

/** Stripe's dispute reasons (Dispute.reason). */
export const disputeReasons = [
  'bank_cannot_process',
  'check_returned',
  'credit_not_processed',
  'customer_initiated',
  'debit_not_authorized',
  'duplicate',
  'fraudulent',
  'general',
  'incorrect_account_details',
  'insufficient_funds',
  'noncompliant',
  'product_not_received',
  'product_unacceptable',
  'subscription_canceled',
  'unrecognized',
] as const;
export type DisputeReason = (typeof disputeReasons)[number];

/** What a dispute can still take back: what was captured and not refunded. */
function undisputedAmount(charge: Charge): number {
  return charge.amount_captured - charge.amount_refunded;
}

export async function createDisputeWhenDue(sim: Sim, job: Job): Promise<void> {
  const charge = sim.store.get<Charge>(job.data.chargeId ?? '', 'charge');
  if (charge && !charge.disputed && charge.captured) openDispute(sim, charge, undisputedAmount(charge), 'fraudulent');
  sim.jobs.complete(job);
  await sim.writer.flush();
}

/**
 * The admin endpoint's dispute of an existing charge: it must be succeeded and captured, not
 * disputed yet, with something left to dispute; the amount (default: all that is left) at most
 * that. Every check comes before anything is written.
 */
export function disputeCharge(sim: Sim, chargeId: string, input: { reason?: DisputeReason; amount?: number }): Dispute {
  const charge = sim.store.get<Charge>(chargeId, 'charge');
  if (!charge) throw noSuchObject('charge', chargeId, 'charge');
  if (charge.status !== 'succeeded' || !charge.captured) {
    throw invalidRequest(`Charge ${charge.id} cannot be disputed: it is ${charge.status}${charge.status === 'succeeded' ? ' but not captured' : ''}.`, undefined, 'charge_not_disputable');
  }
  if (charge.disputed) throw invalidRequest(`Charge ${charge.id} has already been disputed.`, undefined, 'charge_already_disputed');
  const undisputed = undisputedAmount(charge);
  if (undisputed <= 0) throw invalidRequest(`Charge ${charge.id} has been fully refunded; there is nothing to dispute.`, undefined, 'charge_already_refunded');
  const amount = input.amount ?? undisputed;
  if (amount > undisputed) {
    throw invalidRequest(`Dispute amount (${amount}) is greater than the undisputed amount on charge (${undisputed}: captured minus refunded).`, 'amount', 'amount_too_large');
  }
  assertPspAmountStep(amount, charge.currency, 'amount');
  return openDispute(sim, charge, amount, input.reason ?? 'fraudulent');
}

function openDispute(sim: Sim, charge: Charge, amount: number, reason: DisputeReason): Dispute {
  const id = newId('dp');
  const transaction = createBalanceTransaction(sim, {
    amount: -amount,
    currency: charge.currency,
    fee: sim.config.disputeFeeMinor,
    feeType: 'stripe_fee',
    type: 'adjustment',
    reportingCategory: 'dispute',
    source: id,
    description: `Chargeback withdrawal for ${charge.id}`,
    paymentIntentId: charge.payment_intent,
  });
  const created = sim.clock.nowSeconds();
  const dispute: Dispute = {
    id,
    object: 'dispute',
    amount,
    balance_transactions: [publicView(transaction)],
    charge: charge.id,
    created,
    currency: charge.currency,
    evidence_details: { due_by: created + evidenceDueSeconds, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: charge.payment_intent,
    reason,
    status: 'needs_response',
  };
  sim.store.save(dispute);
  sim.store.save({ ...charge, disputed: true });
  sim.events.emit('charge.dispute.created', dispute);
  return dispute;
}

export function closeDispute(sim: Sim, id: string, outcome: 'won' | 'lost'): Dispute {
  const dispute = sim.store.get<Dispute>(id, 'dispute');
  if (!dispute) throw noSuchObject('dispute', id, 'dispute');
  if (dispute.status === 'won' || dispute.status === 'lost') throw invalidRequest(`This dispute is already closed (${dispute.status}).`, undefined, 'dispute_already_closed');
  const transactions = [...dispute.balance_transactions];
  if (outcome === 'won') {
    const reinstated = createBalanceTransaction(sim, {
      amount: dispute.amount,
      currency: dispute.currency,
      fee: 0,
      type: 'adjustment',
      reportingCategory: 'dispute_reversal',
      source: dispute.id,
      description: `Chargeback reversal for ${dispute.charge}`,
      paymentIntentId: dispute.payment_intent,
    });
    transactions.push(publicView(reinstated));
  }
  const closed: Dispute = { ...dispute, status: outcome, balance_transactions: transactions };
  sim.store.save(closed);
  sim.events.emit('charge.dispute.closed', closed, { status: dispute.status });
  return closed;
}

export function retrieveDispute({ sim, pathParams }: ApiCall): object {
  const id = pathParams.id ?? '';
  const dispute = sim.store.get(id, 'dispute');
  if (!dispute) throw noSuchObject('dispute', id, 'dispute');
  return dispute;
}

export function listDisputes({ sim, params }: ApiCall): object {
  return listObjects<Dispute>(sim.store, 'dispute', '/v1/disputes', params, [fieldEquals(params, 'payment_intent'), fieldEquals(params, 'charge')]);
}

export function acceptDispute({ sim, pathParams }: ApiCall): object {
  return closeDispute(sim, pathParams.id ?? '', 'lost');
}
