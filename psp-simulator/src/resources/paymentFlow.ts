// What happens when a card is presented for a payment intent (API confirm or hosted page):
// the card's test outcome decides between success, decline, 3-D Secure, processing, a success
// followed by a dispute and a success whose refunds fail later. Status changes go through one transition table.
import { StripeError, unexpectedState } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { jobKinds } from '../core/jobKinds.js';
import type { Job } from '../core/jobs.js';
import { cardFeeMinor } from '../core/money.js';
import type { Sim } from '../core/sim.js';
import type { CardDetails, Charge, PaymentError, PaymentIntent, PaymentIntentStatus } from '../core/types.js';
import { createBalanceTransaction } from './balanceTransactions.js';
import type { ResolvedCard } from './cards.js';
import { syncCheckoutSession } from './sessionSync.js';

const transitions: Record<PaymentIntentStatus, readonly PaymentIntentStatus[]> = {
  requires_payment_method: ['requires_confirmation', 'requires_action', 'processing', 'requires_capture', 'succeeded', 'requires_payment_method', 'canceled'],
  requires_confirmation: ['requires_action', 'processing', 'requires_capture', 'succeeded', 'requires_payment_method', 'canceled'],
  requires_action: ['processing', 'requires_capture', 'succeeded', 'requires_payment_method', 'canceled'],
  processing: ['requires_capture', 'succeeded', 'requires_payment_method'],
  requires_capture: ['succeeded', 'canceled'],
  succeeded: [],
  canceled: [],
};

export function transition(paymentIntent: PaymentIntent, to: PaymentIntentStatus): void {
  if (!transitions[paymentIntent.status].includes(to)) {
    throw unexpectedState(`This PaymentIntent's status is ${paymentIntent.status}; it cannot move to ${to}.`);
  }
  paymentIntent.status = to;
}

export const confirmableStatuses: readonly PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation'];

const declineMessages: Record<string, string> = {
  generic_decline: 'Your card was declined.',
  insufficient_funds: 'Your card has insufficient funds.',
  incorrect_number: 'Your card number is incorrect.',
};

export interface AttemptOptions {
  returnUrl?: string;
  /** True once the buyer passed the 3-D Secure challenge. */
  authenticated?: boolean;
}

export function attemptPayment(sim: Sim, paymentIntent: PaymentIntent, card: ResolvedCard, options: AttemptOptions = {}): void {
  paymentIntent.payment_method = card.details.paymentMethodId;
  paymentIntent.last_payment_error = null;
  paymentIntent.next_action = null;
  if (options.returnUrl) paymentIntent.__sim.returnUrl = options.returnUrl;
  switch (card.outcome) {
    case 'three_d_secure':
      if (!options.authenticated) return requireAction(sim, paymentIntent, card.details);
      return succeed(sim, paymentIntent, card.details, false);
    case 'generic_decline':
    case 'insufficient_funds':
    case 'incorrect_number':
      return decline(sim, paymentIntent, card.details, card.outcome);
    case 'processing':
      return startProcessing(sim, paymentIntent, card.details);
    case 'dispute':
      return succeed(sim, paymentIntent, card.details, true);
    case 'refund_fails':
      return succeed(sim, paymentIntent, card.details, false, true);
    case 'success':
      return succeed(sim, paymentIntent, card.details, false);
  }
}

function requireAction(sim: Sim, paymentIntent: PaymentIntent, card: CardDetails): void {
  transition(paymentIntent, 'requires_action');
  paymentIntent.__sim.pendingCard = card;
  const url = `${sim.publicUrl}/pay/${paymentIntent.id}/3ds`;
  paymentIntent.next_action = {
    type: 'redirect_to_url',
    redirect_to_url: { url, return_url: paymentIntent.__sim.returnUrl ?? null },
  };
  save(sim, paymentIntent, 'payment_intent.requires_action');
}

/** The buyer answered the 3-D Secure challenge. */
export function completeAuthentication(sim: Sim, paymentIntent: PaymentIntent, approved: boolean): void {
  const card = paymentIntent.__sim.pendingCard;
  if (paymentIntent.status !== 'requires_action' || !card) {
    throw unexpectedState(`This PaymentIntent's status is ${paymentIntent.status}; there is no authentication to complete.`);
  }
  delete paymentIntent.__sim.pendingCard;
  paymentIntent.next_action = null;
  if (approved) return succeed(sim, paymentIntent, card, false);
  const error: PaymentError = {
    type: 'invalid_request_error',
    code: 'payment_intent_authentication_failure',
    decline_code: 'authentication_required',
    message: 'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
    payment_method: { id: card.paymentMethodId, object: 'payment_method', type: 'card' },
  };
  transition(paymentIntent, 'requires_payment_method');
  paymentIntent.last_payment_error = error;
  save(sim, paymentIntent, 'payment_intent.payment_failed');
}

function decline(sim: Sim, paymentIntent: PaymentIntent, card: CardDetails, declineCode: string): void {
  const message = declineMessages[declineCode] ?? 'Your card was declined.';
  const charge = newCharge(sim, paymentIntent, card, 'failed', { code: 'card_declined', message });
  sim.events.emit('charge.failed', charge);
  transition(paymentIntent, 'requires_payment_method');
  paymentIntent.latest_charge = charge.id;
  paymentIntent.last_payment_error = {
    type: 'card_error',
    code: 'card_declined',
    decline_code: declineCode,
    message,
    charge: charge.id,
    payment_method: { id: card.paymentMethodId, object: 'payment_method', type: 'card' },
  };
  save(sim, paymentIntent, 'payment_intent.payment_failed');
}

function startProcessing(sim: Sim, paymentIntent: PaymentIntent, card: CardDetails): void {
  const charge = newCharge(sim, paymentIntent, card, 'pending');
  sim.events.emit('charge.pending', charge);
  transition(paymentIntent, 'processing');
  paymentIntent.latest_charge = charge.id;
  save(sim, paymentIntent, 'payment_intent.processing');
  sim.jobs.schedule(jobKinds.paymentProcessingComplete, sim.config.processingDelayMs, { paymentIntentId: paymentIntent.id });
}

export async function finishProcessing(sim: Sim, job: Job): Promise<void> {
  const paymentIntent = sim.store.get<PaymentIntent>(job.data.paymentIntentId ?? '', 'payment_intent');
  const charge = paymentIntent?.latest_charge ? sim.store.get<Charge>(paymentIntent.latest_charge, 'charge') : undefined;
  if (paymentIntent && charge && paymentIntent.status === 'processing') {
    authorizeCharge(sim, paymentIntent, charge);
  }
  sim.jobs.complete(job);
  await sim.writer.flush();
}

function succeed(sim: Sim, paymentIntent: PaymentIntent, card: CardDetails, disputeLater: boolean, refundsFailLater = false): void {
  const charge = newCharge(sim, paymentIntent, card, 'pending');
  if (refundsFailLater) {
    charge.__sim = { refundsFail: true };
    sim.store.save(charge);
  }
  paymentIntent.latest_charge = charge.id;
  authorizeCharge(sim, paymentIntent, charge);
  if (disputeLater) sim.jobs.schedule(jobKinds.disputeCreate, sim.config.disputeDelayMs, { chargeId: charge.id });
}

/** The charge went through: captured at once (automatic) or held for a manual capture. */
function authorizeCharge(sim: Sim, paymentIntent: PaymentIntent, charge: Charge): void {
  const updated: Charge = { ...charge, status: 'succeeded', paid: true };
  sim.store.save(updated);
  sim.events.emit('charge.succeeded', updated);
  if (paymentIntent.capture_method === 'manual') {
    transition(paymentIntent, 'requires_capture');
    paymentIntent.amount_capturable = paymentIntent.amount;
    save(sim, paymentIntent, 'payment_intent.amount_capturable_updated');
    return;
  }
  captureCharge(sim, paymentIntent, updated, paymentIntent.amount);
}

export function captureCharge(sim: Sim, paymentIntent: PaymentIntent, charge: Charge, amountMinor: number): void {
  const fee = paymentIntent.__sim.feeOverrideMinor ?? cardFeeMinor(amountMinor, { percentBps: sim.config.feePercentBps, fixedMinor: sim.config.feeFixedMinor });
  const transaction = createBalanceTransaction(sim, {
    amount: amountMinor,
    currency: paymentIntent.currency,
    fee,
    type: 'charge',
    reportingCategory: 'charge',
    source: charge.id,
    description: paymentIntent.description,
    paymentIntentId: paymentIntent.id,
  });
  const captured: Charge = { ...charge, captured: true, amount_captured: amountMinor, balance_transaction: transaction.id };
  sim.store.save(captured);
  if (paymentIntent.status === 'requires_capture') sim.events.emit('charge.captured', captured);
  transition(paymentIntent, 'succeeded');
  paymentIntent.amount_received = amountMinor;
  paymentIntent.amount_capturable = 0;
  save(sim, paymentIntent, 'payment_intent.succeeded');
}

export function cancelPaymentIntent(sim: Sim, paymentIntent: PaymentIntent, reason: string | null): void {
  if (!transitions[paymentIntent.status].includes('canceled')) {
    throw unexpectedState(
      `You cannot cancel this PaymentIntent because it has a status of ${paymentIntent.status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action.`,
    );
  }
  transition(paymentIntent, 'canceled');
  paymentIntent.canceled_at = sim.clock.nowSeconds();
  paymentIntent.cancellation_reason = reason;
  paymentIntent.amount_capturable = 0;
  paymentIntent.next_action = null;
  delete paymentIntent.__sim.pendingCard;
  save(sim, paymentIntent, 'payment_intent.canceled');
}

function save(sim: Sim, paymentIntent: PaymentIntent, eventType: string): void {
  sim.store.save(paymentIntent);
  sim.events.emit(eventType, paymentIntent);
  syncCheckoutSession(sim, paymentIntent);
}

function newCharge(sim: Sim, paymentIntent: PaymentIntent, card: CardDetails, status: Charge['status'], failure?: { code: string; message: string }): Charge {
  const charge: Charge = {
    id: newId('ch'),
    object: 'charge',
    amount: paymentIntent.amount,
    amount_captured: 0,
    amount_refunded: 0,
    balance_transaction: null,
    billing_details: { address: null, email: null, name: null, phone: null },
    captured: false,
    created: sim.clock.nowSeconds(),
    currency: paymentIntent.currency,
    description: paymentIntent.description,
    disputed: false,
    failure_code: failure?.code ?? null,
    failure_message: failure?.message ?? null,
    livemode: false,
    metadata: { ...paymentIntent.metadata },
    outcome: {
      network_status: failure ? 'declined_by_network' : 'approved_by_network',
      reason: failure ? 'generic_decline' : null,
      risk_level: 'normal',
      seller_message: failure ? 'The bank did not return any further details with this decline.' : 'Payment complete.',
      type: failure ? 'issuer_declined' : 'authorized',
    },
    paid: false,
    payment_intent: paymentIntent.id,
    payment_method: card.paymentMethodId,
    payment_method_details: {
      type: 'card',
      card: { brand: card.brand, last4: card.last4, exp_month: card.expMonth, exp_year: card.expYear, funding: card.funding, country: 'US' },
    },
    refunded: false,
    status,
  };
  sim.store.save(charge);
  return charge;
}

/** Stripe answers a declined confirm with 402 and the payment intent inside the error. */
export function declineError(paymentIntent: PaymentIntent, view: Record<string, unknown>): StripeError | undefined {
  const error = paymentIntent.last_payment_error;
  if (!error || paymentIntent.status !== 'requires_payment_method') return undefined;
  const status = error.type === 'card_error' ? 402 : 400;
  return new StripeError(status, { ...error, payment_intent: view });
}
