// /v1/checkout/sessions (mode=payment): create, retrieve, list, expire. The simulator creates
// the payment intent eagerly when the session is created (real Stripe may create it only when
// the buyer pays); `url` is the hosted payment page /pay/<session id>.
import { invalidRequest, noSuchObject } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { jobKinds } from '../core/jobKinds.js';
import type { Job } from '../core/jobs.js';
import { assertAmountWithinCap, assertPspAmountStep } from '../core/money.js';
import type { Sim } from '../core/sim.js';
import type { CheckoutSession, PaymentIntent } from '../core/types.js';
import { fieldEquals, listObjects } from '../api/list.js';
import { applyMetadata, oneOf, optionalInteger, optionalObject, optionalString, requiredAmount, requiredCurrency, requiredInteger, requiredString, type Params } from '../api/params.js';
import type { ApiCall } from '../api/types.js';
import { cancelPaymentIntent } from './paymentFlow.js';
import { newPaymentIntent } from './paymentIntents.js';

const lineItemsMax = 100;
const sessionLifetimeSecondsDefault = 24 * 3600;
const sessionLifetimeSecondsMin = 30 * 60;

interface LineItem {
  name: string;
  quantity: number;
  unitAmount: number;
  currency: string;
}

function parseLineItems(params: Params): LineItem[] {
  const raw = params.line_items;
  const entries = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null ? Object.values(raw) : [];
  if (entries.length === 0) throw invalidRequest('Missing required param: line_items.', 'line_items', 'parameter_missing');
  if (entries.length > lineItemsMax) throw invalidRequest('Too many line_items (max 100).', 'line_items');
  return entries.map((entry, index) => {
    const item = (typeof entry === 'object' && entry !== null ? entry : {}) as Params;
    const priceData = optionalObject(item, 'price_data');
    if (!priceData) throw invalidRequest('Each line item needs price_data (prices are not simulated).', `line_items[${index}][price_data]`, 'parameter_missing');
    const productData = optionalObject(priceData, 'product_data') ?? {};
    return {
      name: requiredString(productData, 'name'),
      quantity: requiredInteger(item, 'quantity', 1, 10_000),
      unitAmount: requiredAmount(priceData, 'unit_amount', 0),
      currency: requiredCurrency(priceData),
    };
  });
}

function sessionAmount(items: LineItem[]): { amountTotal: number; currency: string } {
  const currency = items[0]?.currency ?? '';
  let amountTotal = 0;
  for (const item of items) {
    if (item.currency !== currency) throw invalidRequest('All line items must use the same currency.', 'line_items');
    amountTotal += item.unitAmount * item.quantity;
  }
  if (amountTotal < 1) throw invalidRequest('The total amount must be at least 1.', 'line_items');
  assertAmountWithinCap(amountTotal, 'line_items');
  assertPspAmountStep(amountTotal, currency, 'line_items');
  return { amountTotal, currency };
}

function expiresAt(sim: Sim, params: Params): number {
  const now = sim.clock.nowSeconds();
  const requested = optionalInteger(params, 'expires_at', 0, Number.MAX_SAFE_INTEGER);
  if (requested === undefined) return now + sessionLifetimeSecondsDefault;
  if (requested < now + sessionLifetimeSecondsMin || requested > now + sessionLifetimeSecondsDefault) {
    throw invalidRequest('expires_at must be between 30 minutes and 24 hours from now.', 'expires_at');
  }
  return requested;
}

export function createCheckoutSession({ sim, params }: ApiCall): object {
  oneOf(params, 'mode', ['payment'] as const, 'payment');
  const items = parseLineItems(params);
  const { amountTotal, currency } = sessionAmount(items);
  const paymentIntentData = optionalObject(params, 'payment_intent_data') ?? {};
  const created = sim.clock.nowSeconds();
  const expires = expiresAt(sim, params);
  // Every parameter is read before anything is written: a rejected request creates no intent.
  const captureMethod = oneOf(paymentIntentData, 'capture_method', ['automatic', 'automatic_async', 'manual'] as const, 'automatic');
  const paymentIntentDescription = optionalString(paymentIntentData, 'description') ?? null;
  const paymentIntentMetadata = applyMetadata({}, paymentIntentData);
  const cancelUrl = optionalString(params, 'cancel_url') ?? null;
  const clientReferenceId = optionalString(params, 'client_reference_id') ?? null;
  const customerEmail = optionalString(params, 'customer_email') ?? null;
  const metadata = applyMetadata({}, params);
  const successUrl = optionalString(params, 'success_url') ?? null;
  const id = newId('cs_test');
  const paymentIntent = newPaymentIntent(sim, {
    amount: amountTotal,
    currency,
    captureMethod,
    description: paymentIntentDescription,
    metadata: paymentIntentMetadata,
    checkoutSessionId: id,
  });
  const session: CheckoutSession = {
    id,
    object: 'checkout.session',
    amount_subtotal: amountTotal,
    amount_total: amountTotal,
    cancel_url: cancelUrl,
    client_reference_id: clientReferenceId,
    created,
    currency,
    customer: null,
    customer_email: customerEmail,
    expires_at: expires,
    livemode: false,
    metadata,
    mode: 'payment',
    payment_intent: paymentIntent.id,
    payment_method_types: ['card'],
    payment_status: 'unpaid',
    status: 'open',
    success_url: successUrl,
    url: `${sim.publicUrl}/pay/${id}`,
    __sim: { lineItems: items.map(({ name, quantity, unitAmount }) => ({ name, quantity, unitAmount })) },
  };
  sim.store.save(session);
  sim.jobs.schedule(jobKinds.sessionExpire, Math.max(0, (expires - created) * 1000), { sessionId: id });
  return session;
}

export function getCheckoutSession(sim: Sim, id: string): CheckoutSession {
  const session = sim.store.get<CheckoutSession>(id, 'checkout.session');
  if (!session) throw noSuchObject('checkout.session', id, 'session');
  return session;
}

export function retrieveCheckoutSession({ sim, pathParams }: ApiCall): object {
  return getCheckoutSession(sim, pathParams.id ?? '');
}

export function listCheckoutSessions({ sim, params }: ApiCall): object {
  return listObjects<CheckoutSession>(sim.store, 'checkout.session', '/v1/checkout/sessions', params, [fieldEquals(params, 'payment_intent'), fieldEquals(params, 'status')]);
}

export function expireSession(sim: Sim, session: CheckoutSession): CheckoutSession {
  if (session.status !== 'open') {
    throw invalidRequest(`Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`, undefined, 'checkout_session_unexpected_state');
  }
  const paymentIntent = sim.store.get<PaymentIntent>(session.payment_intent, 'payment_intent');
  if (paymentIntent && ['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(paymentIntent.status)) {
    cancelPaymentIntent(sim, paymentIntent, 'abandoned');
  }
  const expired: CheckoutSession = { ...session, status: 'expired', url: null };
  sim.store.save(expired);
  sim.events.emit('checkout.session.expired', expired);
  return expired;
}

export function expireCheckoutSession({ sim, pathParams }: ApiCall): object {
  return expireSession(sim, getCheckoutSession(sim, pathParams.id ?? ''));
}

export async function expireWhenDue(sim: Sim, job: Job): Promise<void> {
  const session = sim.store.get<CheckoutSession>(job.data.sessionId ?? '', 'checkout.session');
  if (session?.status === 'open' && session.expires_at <= sim.clock.nowSeconds()) expireSession(sim, session);
  sim.jobs.complete(job);
  await sim.writer.flush();
}
