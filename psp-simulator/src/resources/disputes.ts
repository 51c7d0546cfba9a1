// Disputes (dp_): arrive disputeDelayMs after a successful payment with the dispute test card
// (funds and a dispute fee are withdrawn at once); closed by the admin endpoint (won returns
// the funds, the fee is kept, as Stripe does in most countries) or by /v1/disputes/:id/close
// (accepting the dispute = lost).
import { invalidRequest, noSuchObject } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Job } from '../core/jobs.js';
import type { Sim } from '../core/sim.js';
import { publicView, type Charge, type Dispute } from '../core/types.js';
import { fieldEquals, listObjects } from '../api/list.js';
import type { ApiCall } from '../api/types.js';
import { createBalanceTransaction } from './balanceTransactions.js';

const evidenceDueSeconds = 7 * 86_400;

export async function createDisputeWhenDue(sim: Sim, job: Job): Promise<void> {
  const charge = sim.store.get<Charge>(job.data.chargeId ?? '', 'charge');
  if (charge && !charge.disputed && charge.captured) openDispute(sim, charge);
  sim.jobs.complete(job);
  await sim.writer.flush();
}

function openDispute(sim: Sim, charge: Charge): Dispute {
  const id = newId('dp');
  const amount = charge.amount_captured - charge.amount_refunded;
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
    reason: 'fraudulent',
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
