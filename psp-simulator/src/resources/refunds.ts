// /v1/refunds: full and partial refunds of a captured charge, never more than captured minus
// already refunded. A refund is `pending` at first and `succeeded` after refundDelayMs. On a
// charge of Stripe's test card 4000 0000 0000 5126 a refund is `succeeded` at once and `failed`
// (expired_or_canceled_card) after refundDelayMs: the money comes back to the balance
// (refund_failure) and the amount is refundable again.
import { invalidRequest, noSuchObject } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertPspAmountStep } from '../core/money.js';
import { jobKinds } from '../core/jobKinds.js';
import type { Job } from '../core/jobs.js';
import type { Sim } from '../core/sim.js';
import type { Charge, Dispute, PaymentIntent, Refund } from '../core/types.js';
import { fieldEquals, listObjects } from '../api/list.js';
import { applyMetadata, oneOf, optionalAmount, optionalString } from '../api/params.js';
import type { ApiCall } from '../api/types.js';
import { createBalanceTransaction } from './balanceTransactions.js';

const reasons = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

function chargeToRefund(sim: Sim, paymentIntentId: string | undefined, chargeId: string | undefined): Charge {
  if (chargeId !== undefined) {
    const charge = sim.store.get<Charge>(chargeId, 'charge');
    if (!charge) throw noSuchObject('charge', chargeId, 'charge');
    return charge;
  }
  if (paymentIntentId === undefined) throw invalidRequest('One of the following params should be provided for this request: payment_intent or charge.', 'payment_intent', 'parameter_missing');
  const paymentIntent = sim.store.get<PaymentIntent>(paymentIntentId, 'payment_intent');
  if (!paymentIntent) throw noSuchObject('payment_intent', paymentIntentId, 'payment_intent');
  const charge = sim.store.get<Charge>(paymentIntent.latest_charge ?? '', 'charge');
  if (!charge || paymentIntent.status !== 'succeeded') {
    throw invalidRequest(`This PaymentIntent (${paymentIntentId}) does not have a successful charge to refund.`, 'payment_intent', 'charge_not_refundable');
  }
  return charge;
}

/** A chargeback takes the money back itself: Stripe refuses refunds while it is open or once it is lost. */
function assertNotChargedBack(sim: Sim, charge: Charge): void {
  if (!charge.disputed) return;
  const chargedBack = sim.store.all<Dispute>('dispute').some((dispute) => dispute.charge === charge.id && dispute.status !== 'won');
  if (chargedBack) throw invalidRequest(`Charge ${charge.id} has been charged back; cannot issue a refund.`, undefined, 'charge_disputed');
}

export function createRefund({ sim, params }: ApiCall): object {
  const charge = chargeToRefund(sim, optionalString(params, 'payment_intent'), optionalString(params, 'charge'));
  // Every parameter is read before anything is written: a rejected request writes nothing.
  const metadata = applyMetadata({}, params);
  const reason = params.reason === undefined ? null : oneOf(params, 'reason', reasons, 'requested_by_customer');
  const requestedAmount = optionalAmount(params, 'amount');
  const refundable = charge.amount_captured - charge.amount_refunded;
  if (!charge.captured || refundable <= 0) {
    throw invalidRequest(`Charge ${charge.id} has already been refunded.`, undefined, 'charge_already_refunded');
  }
  assertNotChargedBack(sim, charge);
  const amount = requestedAmount ?? refundable;
  assertPspAmountStep(amount, charge.currency, 'amount');
  if (amount > refundable) {
    throw invalidRequest(`Refund amount (${amount}) is greater than unrefunded amount on charge (${refundable})`, 'amount', 'amount_too_large');
  }
  const failsLater = charge.__sim?.refundsFail === true;
  const id = newId('re');
  const transaction = createBalanceTransaction(sim, {
    amount: -amount,
    currency: charge.currency,
    fee: 0,
    type: 'refund',
    reportingCategory: 'refund',
    source: id,
    description: 'REFUND FOR CHARGE',
    paymentIntentId: charge.payment_intent,
  });
  const refund: Refund = {
    id,
    object: 'refund',
    amount,
    balance_transaction: transaction.id,
    charge: charge.id,
    created: sim.clock.nowSeconds(),
    currency: charge.currency,
    metadata,
    payment_intent: charge.payment_intent,
    reason,
    status: failsLater ? 'succeeded' : 'pending',
  };
  sim.store.save(refund);
  const amountRefunded = charge.amount_refunded + amount;
  const refundedCharge: Charge = { ...charge, amount_refunded: amountRefunded, refunded: amountRefunded === charge.amount_captured };
  sim.store.save(refundedCharge);
  sim.events.emit('refund.created', refund);
  sim.events.emit('charge.refunded', refundedCharge, { amount_refunded: charge.amount_refunded, refunded: charge.refunded });
  sim.jobs.schedule(failsLater ? jobKinds.refundFail : jobKinds.refundSettle, sim.config.refundDelayMs, { refundId: id });
  return refund;
}

export async function settleRefund(sim: Sim, job: Job): Promise<void> {
  const refund = sim.store.get<Refund>(job.data.refundId ?? '', 'refund');
  if (refund?.status === 'pending') {
    const settled: Refund = { ...refund, status: 'succeeded' };
    sim.store.save(settled);
    sim.events.emit('refund.updated', settled, { status: 'pending' });
  }
  sim.jobs.complete(job);
  await sim.writer.flush();
}

/** The card issuer rejected a refund that had succeeded: the money is back on the balance and refundable again. */
export async function failRefund(sim: Sim, job: Job): Promise<void> {
  const refund = sim.store.get<Refund>(job.data.refundId ?? '', 'refund');
  const charge = refund ? sim.store.get<Charge>(refund.charge, 'charge') : undefined;
  if (refund?.status === 'succeeded' && charge) {
    const transaction = createBalanceTransaction(sim, {
      amount: refund.amount,
      currency: refund.currency,
      fee: 0,
      type: 'refund_failure',
      reportingCategory: 'refund_failure',
      source: refund.id,
      description: 'REFUND FAILURE',
      paymentIntentId: refund.payment_intent,
    });
    const failed: Refund = { ...refund, status: 'failed', failure_reason: 'expired_or_canceled_card', failure_balance_transaction: transaction.id };
    sim.store.save(failed);
    const amountRefunded = charge.amount_refunded - refund.amount;
    sim.store.save({ ...charge, amount_refunded: amountRefunded, refunded: amountRefunded === charge.amount_captured });
    sim.events.emit('refund.updated', failed, { status: 'succeeded' });
    sim.events.emit('refund.failed', failed);
  }
  sim.jobs.complete(job);
  await sim.writer.flush();
}

export function retrieveRefund({ sim, pathParams }: ApiCall): object {
  const id = pathParams.id ?? '';
  const refund = sim.store.get(id, 'refund');
  if (!refund) throw noSuchObject('refund', id, 'refund');
  return refund;
}

export function listRefunds({ sim, params }: ApiCall): object {
  return listObjects<Refund>(sim.store, 'refund', '/v1/refunds', params, [fieldEquals(params, 'payment_intent'), fieldEquals(params, 'charge')]);
}
