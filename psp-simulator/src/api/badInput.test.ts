// Bad input gets a Stripe error and writes nothing: no object, no balance transaction (money at
// the PSP, a settlement line), no event, no change to an existing object. Each request here is
// rejected by a parameter that is read after the handler used to start writing.
import Stripe from 'stripe';
import { payOnPage, startTestSimulator, type TestSimulator } from '../testkit/testkit.js';

let sim: TestSimulator;

beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.stop();
});

function rawPost(path: string, form: Record<string, string>): Promise<Response> {
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_raw', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
}

interface Snapshot {
  balanceTransactions: string[];
  events: string[];
  paymentIntents: string[];
  payouts: string[];
  transfers: string[];
  sessions: string[];
}

async function ids(list: AsyncIterable<{ id: string }>): Promise<string[]> {
  const found: string[] = [];
  for await (const item of list) found.push(item.id);
  return found.sort();
}

async function snapshot(): Promise<Snapshot> {
  return {
    balanceTransactions: await ids(sim.stripe.balanceTransactions.list({ limit: 100 })),
    events: await ids(sim.stripe.events.list({ limit: 100 })),
    paymentIntents: await ids(sim.stripe.paymentIntents.list({ limit: 100 })),
    payouts: await ids(sim.stripe.payouts.list({ limit: 100 })),
    transfers: await ids(sim.stripe.transfers.list({ limit: 100 })),
    sessions: await ids(sim.stripe.checkout.sessions.list({ limit: 100 })),
  };
}

const QUIET_MS = 150;
const QUIET_ROUNDS_MAX = 40;

/**
 * A snapshot once the simulator has gone quiet: earlier tests' objects move on by themselves (a
 * refund succeeds, a payout is paid, a dispute opens, each a little later and with its event),
 * and such a change must not be taken for a write of the request under test.
 */
async function quietSnapshot(): Promise<Snapshot> {
  let previous = await snapshot();
  for (let round = 0; round < QUIET_ROUNDS_MAX; round++) {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const current = await snapshot();
    if (JSON.stringify(current) === JSON.stringify(previous)) return current;
    previous = current;
  }
  throw new Error(`the simulator did not go quiet within ${QUIET_MS * QUIET_ROUNDS_MAX} ms`);
}

async function expectRejectedWithoutWrites(path: string, form: Record<string, string>, status: number, param: string, code?: string): Promise<void> {
  const before = await quietSnapshot();
  const response = await rawPost(path, form);
  expect(response.status).toBe(status);
  expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', param, ...(code ? { code } : {}) } });
  expect(await snapshot()).toEqual(before);
}

describe('bad input writes nothing', () => {
  it('a refund with an invalid reason moves no money and can be retried correctly once', async () => {
    const paid = await sim.stripe.paymentIntents.create({ amount: 5000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await expectRejectedWithoutWrites('/v1/refunds', { payment_intent: paid.id, reason: 'changed_my_mind' }, 400, 'reason');
    await expectRejectedWithoutWrites('/v1/refunds', { payment_intent: paid.id, 'metadata[refund][nested]': 'x' }, 400, 'metadata[refund]');
    const refund = await sim.stripe.refunds.create({ payment_intent: paid.id, reason: 'requested_by_customer' });
    expect(refund.amount).toBe(5000);
    const refundTransactions = await sim.stripe.balanceTransactions.list({ type: 'refund', limit: 100 });
    expect(refundTransactions.data.map((transaction) => transaction.amount)).toEqual([-5000]);
  });

  it('a payout with invalid metadata or destination creates no payout balance transaction', async () => {
    await expectRejectedWithoutWrites('/v1/payouts', { amount: '1000', currency: 'usd', 'metadata[payoutId][x]': 'p1' }, 400, 'metadata[payoutId]');
    await expectRejectedWithoutWrites('/v1/payouts', { amount: '1000', currency: 'usd', 'destination[0]': 'ba_1' }, 400, 'destination');
  });

  it('a transfer with invalid metadata creates no transfer balance transaction', async () => {
    await expectRejectedWithoutWrites('/v1/transfers', { amount: '700', currency: 'usd', destination: 'acct_1', 'metadata[order][x]': 'o1' }, 400, 'metadata[order]');
  });

  it('a checkout session with invalid metadata or urls creates no payment intent and no event', async () => {
    const session = {
      mode: 'payment',
      'line_items[0][quantity]': '1',
      'line_items[0][price_data][currency]': 'usd',
      'line_items[0][price_data][unit_amount]': '1000',
      'line_items[0][price_data][product_data][name]': 'Item',
    };
    await expectRejectedWithoutWrites('/v1/checkout/sessions', { ...session, 'metadata[paymentId][x]': 'p1' }, 400, 'metadata[paymentId]');
    await expectRejectedWithoutWrites('/v1/checkout/sessions', { ...session, 'success_url[0]': 'https://shop.example' }, 400, 'success_url');
  });

  it('a payment intent created with a bad confirm flag or an unknown payment method is not created', async () => {
    await expectRejectedWithoutWrites('/v1/payment_intents', { amount: '1000', currency: 'usd', payment_method: 'pm_card_visa', confirm: 'yes please' }, 400, 'confirm');
    const before = await quietSnapshot();
    const response = await rawPost('/v1/payment_intents', { amount: '1000', currency: 'usd', payment_method: 'pm_no_such_method', confirm: 'true' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'resource_missing', param: 'payment_method' } });
    expect(await snapshot()).toEqual(before);
  });

  it('an update with an invalid field leaves the payment intent unchanged', async () => {
    const created = await sim.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', description: 'first' });
    const update = await rawPost(`/v1/payment_intents/${created.id}`, { amount: '1', description: 'second', 'metadata[order][x]': 'o' });
    expect(update.status).toBe(400);
    const after = await sim.stripe.paymentIntents.retrieve(created.id);
    expect(after).toMatchObject({ amount: 1000, description: 'first', metadata: {} });
  });
});

describe('refund state rules', () => {
  it('a charged-back charge cannot be refunded (charge_disputed), as the dispute says is_charge_refundable: false', async () => {
    const paid = await sim.stripe.paymentIntents.create({ amount: 4000, currency: 'usd', payment_method: 'pm_card_createDispute', confirm: true });
    const event = await sim.webhooks.waitFor((received) => received.type === 'charge.dispute.created' && (received.data.object as Stripe.Dispute).payment_intent === paid.id);
    expect((event.data.object as Stripe.Dispute).is_charge_refundable).toBe(false);
    const before = await snapshot();
    const error = await sim.stripe.refunds.create({ payment_intent: paid.id, amount: 1000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((error as { code?: string }).code).toBe('charge_disputed');
    const byCharge = await sim.stripe.refunds.create({ charge: paid.latest_charge as string }).catch((caught: unknown) => caught);
    expect((byCharge as { code?: string }).code).toBe('charge_disputed');
    expect(await snapshot()).toEqual(before);
    expect(await sim.stripe.charges.retrieve(paid.latest_charge as string)).toMatchObject({ amount_refunded: 0, refunded: false, disputed: true });
  });
});

describe('hosted 3-D Secure challenge', () => {
  it('an answer that is neither approve=1 nor approve=0 is rejected and leaves the challenge pending', async () => {
    const paymentIntent = await sim.stripe.paymentIntents.create({ amount: 900, currency: 'eur' });
    const payPage = `${sim.url}/pay/${paymentIntent.id}`;
    const challenged = await payOnPage(payPage, '4000002500003155');
    expect(challenged.status).toBe(303);
    const challengeUrl = `${sim.url}${challenged.headers.get('location')}`;
    const before = await snapshot();
    for (const body of [new URLSearchParams(), new URLSearchParams({ approve: 'yes' })]) {
      const answer = await fetch(challengeUrl, { method: 'POST', body, redirect: 'manual' });
      expect(answer.status).toBe(400);
    }
    expect(await snapshot()).toEqual(before);
    const pending = await sim.stripe.paymentIntents.retrieve(paymentIntent.id);
    expect(pending).toMatchObject({ status: 'requires_action', last_payment_error: null });
    const approved = await fetch(challengeUrl, { method: 'POST', body: new URLSearchParams({ approve: '1' }), redirect: 'manual' });
    expect(approved.status).toBe(200);
    expect((await sim.stripe.paymentIntents.retrieve(paymentIntent.id)).status).toBe('succeeded');
  });
});

describe('three-decimal currencies', () => {
  it('takes payment intents, checkout sessions and refunds in KWD only in tens of the minor unit, as Stripe does', async () => {
    await expectRejectedWithoutWrites('/v1/payment_intents', { amount: '12345', currency: 'kwd' }, 400, 'amount');
    await expectRejectedWithoutWrites(
      '/v1/checkout/sessions',
      { mode: 'payment', 'line_items[0][quantity]': '1', 'line_items[0][price_data][currency]': 'bhd', 'line_items[0][price_data][unit_amount]': '1005', 'line_items[0][price_data][product_data][name]': 'Item' },
      400,
      'line_items',
    );
    const paid = await sim.stripe.paymentIntents.create({ amount: 12_340, currency: 'kwd', payment_method: 'pm_card_visa', confirm: true });
    expect(paid.status).toBe('succeeded');
    await expectRejectedWithoutWrites('/v1/refunds', { payment_intent: paid.id, amount: '5' }, 400, 'amount');
    const refund = await sim.stripe.refunds.create({ payment_intent: paid.id, amount: 2_340 });
    expect(refund.amount).toBe(2_340);
    // Other currencies take any minor unit.
    const usd = await sim.stripe.paymentIntents.create({ amount: 12_345, currency: 'usd' });
    expect(usd.amount).toBe(12_345);
  });
});

describe('the eight-digit amount cap', () => {
  it('refuses amounts above 99,999,999 minor units in every currency with amount_too_large, as Stripe does, and writes nothing', async () => {
    const tooLarge = '100000000';
    await expectRejectedWithoutWrites('/v1/payment_intents', { amount: tooLarge, currency: 'usd' }, 400, 'amount', 'amount_too_large');
    // Three decimals: 100,000.000 KWD is nine digits, too many for the PSP.
    await expectRejectedWithoutWrites('/v1/payment_intents', { amount: tooLarge, currency: 'kwd' }, 400, 'amount', 'amount_too_large');
    const line = (index: number, amount: string) => ({
      [`line_items[${index}][quantity]`]: '1',
      [`line_items[${index}][price_data][currency]`]: 'kwd',
      [`line_items[${index}][price_data][unit_amount]`]: amount,
      [`line_items[${index}][price_data][product_data][name]`]: `Item ${index}`,
    });
    await expectRejectedWithoutWrites('/v1/checkout/sessions', { mode: 'payment', ...line(0, '60000000'), ...line(1, '40000000') }, 400, 'line_items', 'amount_too_large');
    const open = await sim.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    await expectRejectedWithoutWrites(`/v1/payment_intents/${open.id}`, { amount: tooLarge }, 400, 'amount', 'amount_too_large');
    expect((await sim.stripe.paymentIntents.retrieve(open.id)).amount).toBe(1000);
    const paid = await sim.stripe.paymentIntents.create({ amount: 99_999_999, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(paid).toMatchObject({ status: 'succeeded', amount: 99_999_999 });
    await expectRejectedWithoutWrites('/v1/refunds', { payment_intent: paid.id, amount: tooLarge }, 400, 'amount', 'amount_too_large');
    await expectRejectedWithoutWrites('/v1/payouts', { amount: tooLarge, currency: 'usd' }, 400, 'amount', 'amount_too_large');
  });
});
