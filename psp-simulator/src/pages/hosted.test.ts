import type Stripe from 'stripe';
import { answerChallenge, payOnPage, poll, startTestSimulator, type TestSimulator } from '../testkit/testkit.js';

let sim: TestSimulator;

beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.stop();
});

async function newSession(extra: Partial<Stripe.Checkout.SessionCreateParams> = {}): Promise<Stripe.Checkout.Session> {
  return sim.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [
      { price_data: { currency: 'eur', unit_amount: 1250, product_data: { name: 'Vintage lamp' } }, quantity: 2 },
      { price_data: { currency: 'eur', unit_amount: 500, product_data: { name: 'Shipping' } }, quantity: 1 },
    ],
    metadata: { order: 'o-42' },
    client_reference_id: 'order-42',
    payment_intent_data: { metadata: { order: 'o-42' } },
    ...extra,
  });
}

function pageUrl(session: Stripe.Checkout.Session): string {
  return `${sim.url}${new URL(session.url ?? '').pathname}`;
}

describe('checkout sessions and the hosted payment page', () => {
  it('creates a session with an eager payment intent and serves a card form', async () => {
    const session = await newSession({ success_url: 'https://shop.example/ok?session={CHECKOUT_SESSION_ID}', cancel_url: 'https://shop.example/cancel' });
    expect(session).toMatchObject({ object: 'checkout.session', status: 'open', payment_status: 'unpaid', amount_total: 3000, currency: 'eur', client_reference_id: 'order-42' });
    expect(session.id).toMatch(/^cs_/);
    expect(session.url).toBe(`http://localhost:${sim.port}/pay/${session.id}`);
    const paymentIntent = await sim.stripe.paymentIntents.retrieve(session.payment_intent as string);
    expect(paymentIntent).toMatchObject({ amount: 3000, currency: 'eur', status: 'requires_payment_method', metadata: { order: 'o-42' } });
    const page = await fetch(pageUrl(session));
    const html = await page.text();
    expect(page.headers.get('content-type')).toContain('text/html');
    for (const text of ['30.00 EUR', 'Vintage lamp', 'name="card_number"', 'name="exp_month"', 'name="exp_year"', 'name="cvc"', 'type="submit"']) expect(html).toContain(text);
  });

  it('4242 (spaces accepted) pays and redirects 303 to success_url; the session completes', async () => {
    const session = await newSession({ success_url: 'https://shop.example/ok?session={CHECKOUT_SESSION_ID}' });
    const response = await payOnPage(pageUrl(session), '4242 4242 4242 4242');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`https://shop.example/ok?session=${session.id}`);
    const completed = await sim.stripe.checkout.sessions.retrieve(session.id);
    expect(completed).toMatchObject({ status: 'complete', payment_status: 'paid' });
    const paymentIntent = await sim.stripe.paymentIntents.retrieve(session.payment_intent as string, { expand: ['latest_charge'] });
    expect(paymentIntent.status).toBe('succeeded');
    expect((paymentIntent.latest_charge as Stripe.Charge).payment_method_details?.card?.last4).toBe('4242');
    await sim.webhooks.waitFor((event) => event.type === 'checkout.session.completed' && (event.data.object as Stripe.Checkout.Session).id === session.id);
    const again = await fetch(pageUrl(session));
    expect(await again.text()).toContain('Payment successful');
  });

  it('without success_url the buyer sees the success page', async () => {
    const session = await newSession();
    const response = await payOnPage(pageUrl(session), '4242424242424242');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('data-result="succeeded"');
  });

  it.each([
    ['4000 0000 0000 0002', 'generic_decline', 'Your card was declined.'],
    ['4000 0000 0000 9995', 'insufficient_funds', 'Your card has insufficient funds.'],
    ['4111 1111 1111 1111', 'incorrect_number', 'Your card number is incorrect.'],
  ])('%s declines (%s), shows the form again, and a retry with 4242 on the same page succeeds', async (card, declineCode, message) => {
    const session = await newSession();
    const declined = await payOnPage(pageUrl(session), card);
    expect(declined.status).toBe(402);
    expect(await declined.text()).toContain(message);
    const paymentIntent = await sim.stripe.paymentIntents.retrieve(session.payment_intent as string);
    expect(paymentIntent.status).toBe('requires_payment_method');
    expect(paymentIntent.last_payment_error).toMatchObject({ code: 'card_declined', decline_code: declineCode });
    expect((await sim.stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    const retried = await payOnPage(pageUrl(session), '4242424242424242');
    expect(retried.status).toBe(200);
    expect((await sim.stripe.paymentIntents.retrieve(session.payment_intent as string)).status).toBe('succeeded');
  });

  it('3-D Secure card: challenge page, approve succeeds', async () => {
    const session = await newSession({ success_url: 'https://shop.example/ok' });
    const response = await payOnPage(pageUrl(session), '4000 0025 0000 3155');
    expect(response.status).toBe(303);
    const challengeUrl = `${sim.url}${response.headers.get('location')}`;
    expect(challengeUrl).toBe(`${pageUrl(session)}/3ds`);
    expect((await sim.stripe.paymentIntents.retrieve(session.payment_intent as string)).status).toBe('requires_action');
    const challenge = await (await fetch(challengeUrl)).text();
    expect(challenge).toContain('name="approve"');
    const approved = await answerChallenge(challengeUrl, true);
    expect(approved.status).toBe(303);
    expect(approved.headers.get('location')).toBe('https://shop.example/ok');
    expect((await sim.stripe.paymentIntents.retrieve(session.payment_intent as string)).status).toBe('succeeded');
  });

  it('3-D Secure card: deny fails with payment_intent_authentication_failure and the form can be retried', async () => {
    const session = await newSession();
    const response = await payOnPage(pageUrl(session), '4000002500003155');
    const denied = await answerChallenge(`${sim.url}${response.headers.get('location')}`, false);
    expect(denied.status).toBe(402);
    expect(await denied.text()).toContain('unable to authenticate');
    const paymentIntent = await sim.stripe.paymentIntents.retrieve(session.payment_intent as string);
    expect(paymentIntent.status).toBe('requires_payment_method');
    expect(paymentIntent.last_payment_error).toMatchObject({ code: 'payment_intent_authentication_failure' });
    await sim.webhooks.waitFor((event) => event.type === 'payment_intent.payment_failed' && (event.data.object as Stripe.PaymentIntent).id === paymentIntent.id);
    expect((await payOnPage(pageUrl(session), '4242424242424242')).status).toBe(200);
  });

  it('processing card 4000 0000 0000 7777 stays processing, then succeeds', async () => {
    const session = await newSession();
    const response = await payOnPage(pageUrl(session), '4000 0000 0000 7777');
    expect(await response.text()).toContain('processing');
    const id = session.payment_intent as string;
    expect((await sim.stripe.paymentIntents.retrieve(id)).status).toBe('processing');
    await sim.webhooks.waitFor((event) => event.type === 'payment_intent.processing' && (event.data.object as Stripe.PaymentIntent).id === id);
    await sim.webhooks.waitFor((event) => event.type === 'payment_intent.succeeded' && (event.data.object as Stripe.PaymentIntent).id === id);
    expect(await sim.stripe.checkout.sessions.retrieve(session.id)).toMatchObject({ status: 'complete', payment_status: 'paid' });
  });

  it('dispute card 0259 succeeds, then a dispute arrives', async () => {
    const session = await newSession();
    expect((await payOnPage(pageUrl(session), '4000000000000259')).status).toBe(200);
    const event = await sim.webhooks.waitFor((received) => received.type === 'charge.dispute.created' && (received.data.object as Stripe.Dispute).payment_intent === session.payment_intent);
    const dispute = event.data.object as Stripe.Dispute;
    expect(dispute).toMatchObject({ status: 'needs_response', amount: 3000, currency: 'eur' });
  });

  it('refund-failure card 5126 succeeds; a refund of it is succeeded, then failed', async () => {
    const session = await newSession();
    expect((await payOnPage(pageUrl(session), '4000 0000 0000 5126')).status).toBe(200);
    const paymentIntentId = session.payment_intent as string;
    expect((await sim.stripe.paymentIntents.retrieve(paymentIntentId)).status).toBe('succeeded');
    const refund = await sim.stripe.refunds.create({ payment_intent: paymentIntentId });
    expect(refund.status).toBe('succeeded');
    const event = await sim.webhooks.waitFor((received) => received.type === 'refund.failed' && (received.data.object as Stripe.Refund).id === refund.id);
    expect(event.data.object).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card' });
  });

  it.each([
    [{ exp_month: '01', exp_year: '2020' }, 'expiration date is in the past'],
    [{ exp_month: '13' }, 'expiration month is invalid'],
    [{ cvc: '1' }, 'security code'],
  ])('rejects an invalid form %j without touching the payment', async (fields, message) => {
    const session = await newSession();
    const response = await payOnPage(pageUrl(session), '4242424242424242', fields);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(message);
    const paymentIntent = await sim.stripe.paymentIntents.retrieve(session.payment_intent as string);
    expect(paymentIntent.status).toBe('requires_payment_method');
    expect(paymentIntent.latest_charge).toBeNull();
  });

  it('expiring a session cancels its payment intent and closes the page', async () => {
    const session = await newSession();
    const expired = await sim.stripe.checkout.sessions.expire(session.id);
    expect(expired.status).toBe('expired');
    expect((await sim.stripe.paymentIntents.retrieve(session.payment_intent as string)).status).toBe('canceled');
    await sim.webhooks.waitFor((event) => event.type === 'checkout.session.expired' && (event.data.object as Stripe.Checkout.Session).id === session.id);
    expect(await (await fetch(pageUrl(session))).text()).toContain('expired');
    expect((await payOnPage(pageUrl(session), '4242424242424242')).status).toBe(409);
  });

  it('a bare payment intent can be paid at /pay/<pi id>', async () => {
    const paymentIntent = await sim.stripe.paymentIntents.create({ amount: 990, currency: 'kwd' });
    expect(await (await fetch(`${sim.url}/pay/${paymentIntent.id}`)).text()).toContain('0.990 KWD');
    expect((await payOnPage(`${sim.url}/pay/${paymentIntent.id}`, '4242424242424242')).status).toBe(200);
    await poll(async () => ((await sim.stripe.paymentIntents.retrieve(paymentIntent.id)).status === 'succeeded' ? true : undefined), 2000, 'succeeded');
  });

  it('unknown pages are 404', async () => {
    expect((await fetch(`${sim.url}/pay/cs_test_nothing`)).status).toBe(404);
  });
});
