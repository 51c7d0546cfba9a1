import type Stripe from 'stripe';
import { poll, startTestSimulator, type TestSimulator } from './testkit/testkit.js';

let sim: TestSimulator;

beforeAll(async () => {
  sim = await startTestSimulator({ config: { payoutDelayMs: 600, webhookRetryBaseMs: 100, webhookRetryMaxDelayMs: 200, webhookMaxAttempts: 8 } });
});
afterAll(async () => {
  await sim.stop();
});

describe('state survives a restart', () => {
  it('keeps objects, idempotency keys, pending payouts and undelivered webhooks', async () => {
    sim.webhooks.respond = () => 503;
    const paymentIntent = await sim.stripe.paymentIntents.create({ amount: 4200, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, metadata: { order: 'r1' } }, { idempotencyKey: 'key-restart' });
    const refund = await sim.stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 200 });
    const payout = await sim.stripe.payouts.create({ amount: 1000, currency: 'eur', destination: 'ba_restart' });
    await poll(() => (sim.webhooks.deliveries.some((delivery) => delivery.event.type === 'payment_intent.succeeded') ? true : undefined), 3000, 'a failed attempt');

    await sim.stopSimulator();
    sim.webhooks.respond = () => 200;
    await sim.restart();

    const reloaded = await sim.stripe.paymentIntents.retrieve(paymentIntent.id);
    expect(reloaded).toMatchObject({ status: 'succeeded', amount: 4200, metadata: { order: 'r1' } });
    expect((await sim.stripe.refunds.retrieve(refund.id)).amount).toBe(200);
    const replay = await sim.stripe.paymentIntents.create({ amount: 4200, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, metadata: { order: 'r1' } }, { idempotencyKey: 'key-restart' });
    expect(replay.id).toBe(paymentIntent.id);
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');

    const succeeded = await sim.webhooks.waitFor((event) => event.type === 'payment_intent.succeeded' && (event.data.object as Stripe.PaymentIntent).id === paymentIntent.id, 5000);
    expect(succeeded.id).toMatch(/^evt_/);
    await sim.webhooks.waitFor((event) => event.type === 'payout.paid' && (event.data.object as Stripe.Payout).id === payout.id, 5000);
    await sim.webhooks.waitFor((event) => event.type === 'refund.updated' && (event.data.object as Stripe.Refund).id === refund.id, 5000);
    const transactions = await sim.stripe.balanceTransactions.list({ limit: 100 });
    expect(transactions.data.map((transaction) => transaction.type).sort()).toEqual(['charge', 'payout', 'refund']);
  });
});
