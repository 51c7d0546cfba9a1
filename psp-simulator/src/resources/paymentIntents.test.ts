import Stripe from 'stripe';
import { startTestSimulator, type TestSimulator } from '../testkit/testkit.js';

let sim: TestSimulator;

beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.stop();
});

describe('payment intents through the stripe SDK', () => {
  it('creates, confirms with pm_card_visa and captures automatically, with a fee-bearing balance transaction', async () => {
    const created = await sim.stripe.paymentIntents.create({ amount: 2000, currency: 'eur', metadata: { order: 'o-1' }, description: 'Order o-1' });
    expect(created.id).toMatch(/^pi_/);
    expect(created.status).toBe('requires_payment_method');
    expect(created.metadata).toEqual({ order: 'o-1' });

    const confirmed = await sim.stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_visa', expand: ['latest_charge.balance_transaction'] });
    expect(confirmed.status).toBe('succeeded');
    expect(confirmed.amount_received).toBe(2000);
    const charge = confirmed.latest_charge as Stripe.Charge;
    expect(charge.id).toMatch(/^ch_/);
    expect(charge.captured).toBe(true);
    const transaction = charge.balance_transaction as Stripe.BalanceTransaction;
    expect(transaction).toMatchObject({ amount: 2000, fee: 88, net: 1912, type: 'charge', reporting_category: 'charge', source: charge.id });

    const retrievedCharge = await sim.stripe.charges.retrieve(charge.id);
    expect(retrievedCharge.payment_intent).toBe(created.id);
    await sim.webhooks.waitFor((event) => event.type === 'payment_intent.succeeded' && (event.data.object as Stripe.PaymentIntent).id === created.id);
    await sim.webhooks.waitFor((event) => event.type === 'charge.succeeded' && (event.data.object as Stripe.Charge).id === charge.id);
  });

  it.each([
    ['pm_card_chargeDeclined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ])('declines %s with a card_error and returns the intent to requires_payment_method', async (paymentMethod, declineCode) => {
    const created = await sim.stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
    const error = await sim.stripe.paymentIntents.confirm(created.id, { payment_method: paymentMethod }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    const cardError = error as InstanceType<typeof Stripe.errors.StripeCardError>;
    expect(cardError.statusCode).toBe(402);
    expect(cardError.code).toBe('card_declined');
    expect(cardError.decline_code).toBe(declineCode);
    const after = await sim.stripe.paymentIntents.retrieve(created.id);
    expect(after.status).toBe('requires_payment_method');
    expect(after.last_payment_error).toMatchObject({ code: 'card_declined', decline_code: declineCode });
    await sim.webhooks.waitFor((event) => event.type === 'payment_intent.payment_failed' && (event.data.object as Stripe.PaymentIntent).id === created.id);

    const retried = await sim.stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_visa' });
    expect(retried.status).toBe('succeeded');
  });

  it('3-D Secure via the API: requires_action with a challenge URL, approve succeeds', async () => {
    const created = await sim.stripe.paymentIntents.create({ amount: 700, currency: 'gbp' });
    const pending = await sim.stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_threeDSecure2Required', return_url: 'https://shop.example/return' });
    expect(pending.status).toBe('requires_action');
    const url = (pending.next_action as { redirect_to_url: { url: string } }).redirect_to_url.url;
    expect(url).toBe(`http://localhost:${sim.port}/pay/${created.id}/3ds`);
    const page = await fetch(`${sim.url}/pay/${created.id}/3ds`);
    expect(await page.text()).toContain('Complete authentication');
    const answer = await fetch(`${sim.url}/pay/${created.id}/3ds`, { method: 'POST', body: new URLSearchParams({ approve: '1' }), redirect: 'manual' });
    expect(answer.status).toBe(303);
    const location = new URL(answer.headers.get('location') ?? '');
    expect(location.origin + location.pathname).toBe('https://shop.example/return');
    expect(location.searchParams.get('redirect_status')).toBe('succeeded');
    expect((await sim.stripe.paymentIntents.retrieve(created.id)).status).toBe('succeeded');
  });

  it('manual capture: requires_capture, then a partial capture charges the fee on the captured amount', async () => {
    const created = await sim.stripe.paymentIntents.create({ amount: 10_000, currency: 'usd', capture_method: 'manual', payment_method: 'pm_card_visa', confirm: true });
    expect(created.status).toBe('requires_capture');
    expect(created.amount_capturable).toBe(10_000);
    await sim.webhooks.waitFor((event) => event.type === 'payment_intent.amount_capturable_updated' && (event.data.object as Stripe.PaymentIntent).id === created.id);
    const tooMuch = await sim.stripe.paymentIntents.capture(created.id, { amount_to_capture: 10_001 }).catch((error: unknown) => error);
    expect(tooMuch).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const captured = await sim.stripe.paymentIntents.capture(created.id, { amount_to_capture: 6_000 }, { idempotencyKey: 'capture-1' });
    expect(captured.status).toBe('succeeded');
    expect(captured.amount_received).toBe(6_000);
    const transactions = await sim.stripe.balanceTransactions.list({ source: captured.latest_charge as string });
    expect(transactions.data).toHaveLength(1);
    expect(transactions.data[0]).toMatchObject({ amount: 6_000, fee: 204, net: 5_796 });
    const again = await sim.stripe.paymentIntents.capture(created.id).catch((error: unknown) => error);
    expect((again as { code?: string }).code).toBe('payment_intent_unexpected_state');
  });

  it('cancels an uncaptured intent and refuses to cancel a succeeded one', async () => {
    const created = await sim.stripe.paymentIntents.create({ amount: 1500, currency: 'usd' });
    const canceled = await sim.stripe.paymentIntents.cancel(created.id, { cancellation_reason: 'abandoned' });
    expect(canceled.status).toBe('canceled');
    expect(canceled.cancellation_reason).toBe('abandoned');
    await sim.webhooks.waitFor((event) => event.type === 'payment_intent.canceled' && (event.data.object as Stripe.PaymentIntent).id === created.id);
    const paid = await sim.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const refused = await sim.stripe.paymentIntents.cancel(paid.id).catch((error: unknown) => error);
    expect((refused as { code?: string }).code).toBe('payment_intent_unexpected_state');
  });

  it('updates metadata (empty value removes a key), lists newest first, and 404s unknown ids', async () => {
    const created = await sim.stripe.paymentIntents.create({ amount: 100, currency: 'jpy', metadata: { a: '1', b: '2' } });
    const updated = await sim.stripe.paymentIntents.update(created.id, { metadata: { a: '', c: '3' } });
    expect(updated.metadata).toEqual({ b: '2', c: '3' });
    const list = await sim.stripe.paymentIntents.list({ limit: 2 });
    expect(list.data[0]?.id).toBe(created.id);
    expect(list.has_more).toBe(true);
    const missing = await sim.stripe.paymentIntents.retrieve('pi_doesnotexist').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((missing as { statusCode?: number; code?: string }).statusCode).toBe(404);
    expect((missing as { code?: string }).code).toBe('resource_missing');
  });

  it('rejects bad parameters with Stripe error objects', async () => {
    const missing = await sim.stripe.paymentIntents.create({ currency: 'usd' } as Stripe.PaymentIntentCreateParams).catch((error: unknown) => error);
    expect(missing).toMatchObject({ type: 'StripeInvalidRequestError', code: 'parameter_missing', param: 'amount' });
    const unknownMethod = await sim.stripe.paymentIntents.create({ amount: 100, currency: 'usd', payment_method: 'pm_card_nope', confirm: true }).catch((error: unknown) => error);
    expect(unknownMethod).toMatchObject({ code: 'resource_missing', param: 'payment_method' });
  });

  it('refuses keys that are not sk_test_ with 401', async () => {
    const bad = new Stripe('sk_live_nope', { host: '127.0.0.1', port: sim.port, protocol: 'http', maxNetworkRetries: 0 });
    const error = await bad.paymentIntents.list().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const raw = await fetch(`${sim.url}/v1/balance`);
    expect(raw.status).toBe(401);
    expect(await raw.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('health and readiness answer', async () => {
    expect((await fetch(`${sim.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${sim.url}/readyz`)).json()).toEqual({ status: 'ready' });
    expect(await (await fetch(`${sim.url}/metrics`)).text()).toContain('psp_sim_pending_jobs');
  });
});
