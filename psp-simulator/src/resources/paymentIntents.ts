// /v1/payment_intents: create, retrieve, update, confirm, capture, cancel, list.
import { invalidRequest, noSuchObject, unexpectedState } from '../core/errors.js';
import { newId, newSecret } from '../core/ids.js';
import { assertPspAmountStep } from '../core/money.js';
import type { Sim } from '../core/sim.js';
import { publicView, type Charge, type Metadata, type PaymentIntent } from '../core/types.js';
import { listObjects } from '../api/list.js';
import { applyMetadata, oneOf, optionalAmount, optionalBoolean, optionalString, requiredAmount, requiredCurrency } from '../api/params.js';
import type { ApiCall } from '../api/types.js';
import { cardFromPaymentMethod, type ResolvedCard } from './cards.js';
import { attemptPayment, cancelPaymentIntent, captureCharge, confirmableStatuses, declineError } from './paymentFlow.js';

const captureMethods = ['automatic', 'automatic_async', 'manual'] as const;

export interface NewPaymentIntent {
  amount: number;
  currency: string;
  captureMethod: PaymentIntent['capture_method'];
  description: string | null;
  metadata: Metadata;
  checkoutSessionId?: string;
}

export function newPaymentIntent(sim: Sim, input: NewPaymentIntent): PaymentIntent {
  const id = newId('pi');
  const paymentIntent: PaymentIntent = {
    id,
    object: 'payment_intent',
    amount: input.amount,
    amount_capturable: 0,
    amount_received: 0,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: input.captureMethod,
    client_secret: newSecret(id),
    confirmation_method: 'automatic',
    created: sim.clock.nowSeconds(),
    currency: input.currency,
    customer: null,
    description: input.description,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: input.metadata,
    next_action: null,
    payment_method: null,
    payment_method_types: ['card'],
    status: 'requires_payment_method',
    transfer_group: null,
    __sim: input.checkoutSessionId ? { checkoutSessionId: input.checkoutSessionId } : {},
  };
  sim.store.save(paymentIntent);
  sim.events.emit('payment_intent.created', paymentIntent);
  return paymentIntent;
}

export function getPaymentIntent(sim: Sim, id: string, param = 'intent'): PaymentIntent {
  const paymentIntent = sim.store.get<PaymentIntent>(id, 'payment_intent');
  if (!paymentIntent) throw noSuchObject('payment_intent', id, param);
  return paymentIntent;
}

export function createPaymentIntent({ sim, params }: ApiCall): object {
  // Every parameter (and the payment method a confirm uses) is checked before the intent is
  // created: a rejected request creates nothing.
  const input: NewPaymentIntent = {
    amount: requiredAmount(params, 'amount'),
    currency: requiredCurrency(params),
    captureMethod: oneOf(params, 'capture_method', captureMethods, 'automatic'),
    description: optionalString(params, 'description') ?? null,
    metadata: applyMetadata({}, params),
  };
  assertPspAmountStep(input.amount, input.currency, 'amount');
  const paymentMethod = optionalString(params, 'payment_method');
  const confirmNow = optionalBoolean(params, 'confirm') === true;
  const returnUrl = optionalString(params, 'return_url');
  const card = paymentMethod !== undefined && confirmNow ? resolveCard(sim, paymentMethod) : undefined;
  const paymentIntent = newPaymentIntent(sim, input);
  if (paymentMethod === undefined) return paymentIntent;
  if (!card) {
    paymentIntent.payment_method = paymentMethod;
    paymentIntent.status = 'requires_confirmation';
    sim.store.save(paymentIntent);
    return paymentIntent;
  }
  return confirm(sim, paymentIntent, card, returnUrl);
}

export function retrievePaymentIntent({ sim, pathParams }: ApiCall): object {
  return getPaymentIntent(sim, pathParams.id ?? '');
}

export function updatePaymentIntent({ sim, params, pathParams }: ApiCall): object {
  const paymentIntent = getPaymentIntent(sim, pathParams.id ?? '');
  // The stored object is changed in place: everything is checked before the first change.
  const amount = optionalAmount(params, 'amount');
  const metadata = applyMetadata(paymentIntent.metadata, params);
  const description = optionalString(params, 'description');
  if (amount !== undefined && !confirmableStatuses.includes(paymentIntent.status)) throw unexpectedState('The amount can only be changed before the PaymentIntent is confirmed.');
  if (amount !== undefined) assertPspAmountStep(amount, paymentIntent.currency, 'amount');
  if (amount !== undefined) paymentIntent.amount = amount;
  paymentIntent.metadata = metadata;
  if (description !== undefined) paymentIntent.description = description;
  sim.store.save(paymentIntent);
  return paymentIntent;
}

export function confirmPaymentIntent({ sim, params, pathParams }: ApiCall): object {
  const paymentIntent = getPaymentIntent(sim, pathParams.id ?? '');
  const paymentMethod = optionalString(params, 'payment_method') ?? paymentIntent.payment_method ?? undefined;
  const returnUrl = optionalString(params, 'return_url');
  if (paymentMethod === undefined) throw invalidRequest('You cannot confirm this PaymentIntent because it is missing a payment method.', 'payment_method', 'payment_intent_unexpected_state');
  if (!confirmableStatuses.includes(paymentIntent.status)) {
    throw unexpectedState(`You cannot confirm this PaymentIntent because it has a status of ${paymentIntent.status}.`);
  }
  return confirm(sim, paymentIntent, resolveCard(sim, paymentMethod), returnUrl);
}

function resolveCard(sim: Sim, paymentMethod: string): ResolvedCard {
  const card = cardFromPaymentMethod(paymentMethod, new Date(sim.clock.nowMs()).getUTCFullYear());
  if (!card) throw noSuchObject('PaymentMethod', paymentMethod, 'payment_method');
  return card;
}

function confirm(sim: Sim, paymentIntent: PaymentIntent, card: ResolvedCard, returnUrl: string | undefined): PaymentIntent {
  if (!confirmableStatuses.includes(paymentIntent.status)) {
    throw unexpectedState(`You cannot confirm this PaymentIntent because it has a status of ${paymentIntent.status}.`);
  }
  attemptPayment(sim, paymentIntent, card, returnUrl ? { returnUrl } : {});
  const failure = declineError(paymentIntent, publicView(paymentIntent));
  if (failure) throw failure;
  return paymentIntent;
}

export function capturePaymentIntent({ sim, params, pathParams }: ApiCall): object {
  const paymentIntent = getPaymentIntent(sim, pathParams.id ?? '');
  if (paymentIntent.status !== 'requires_capture') {
    throw unexpectedState(`This PaymentIntent could not be captured because it has a status of ${paymentIntent.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`);
  }
  const amount = optionalAmount(params, 'amount_to_capture') ?? paymentIntent.amount_capturable;
  if (amount > paymentIntent.amount_capturable) {
    throw invalidRequest(`The amount to capture (${amount}) must be less than or equal to the amount capturable (${paymentIntent.amount_capturable}).`, 'amount_to_capture', 'amount_too_large');
  }
  const charge = sim.store.get<Charge>(paymentIntent.latest_charge ?? '', 'charge');
  if (!charge) throw unexpectedState('This PaymentIntent has no charge to capture.');
  captureCharge(sim, paymentIntent, charge, amount);
  return paymentIntent;
}

const cancellationReasons = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] as const;

export function cancelPaymentIntentCall({ sim, params, pathParams }: ApiCall): object {
  const paymentIntent = getPaymentIntent(sim, pathParams.id ?? '');
  const reason = params.cancellation_reason === undefined ? null : oneOf(params, 'cancellation_reason', cancellationReasons, 'requested_by_customer');
  cancelPaymentIntent(sim, paymentIntent, reason);
  return paymentIntent;
}

export function listPaymentIntents({ sim, params }: ApiCall): object {
  return listObjects(sim.store, 'payment_intent', '/v1/payment_intents', params, []);
}

export function retrieveCharge({ sim, pathParams }: ApiCall): object {
  const id = pathParams.id ?? '';
  const charge = sim.store.get(id, 'charge');
  if (!charge) throw noSuchObject('charge', id);
  return charge;
}

export function listCharges({ sim, params }: ApiCall): object {
  const paymentIntent = optionalString(params, 'payment_intent');
  return listObjects<Charge>(sim.store, 'charge', '/v1/charges', params, [paymentIntent === undefined ? undefined : (charge) => charge.payment_intent === paymentIntent]);
}

