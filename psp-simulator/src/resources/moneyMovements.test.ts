import Stripe from 'stripe';
import { poll, startTestSimulator, type TestSimulator } from '../testkit/testkit.js';

let sim: TestSimulator;

beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.stop();
});

async function paid(amount: number, currency = 'usd', paymentMethod = 'pm_card_visa'): Promise<Stripe.PaymentIntent> {
  return sim.stripe.paymentIntents.create({ amount, currency, payment_method: paymentMethod, confirm: true });
}

describe('refunds', () => {
  it('partial then full refunds; never more than captured minus refunded', async () => {
    const paymentIntent = await paid(5000);
    const partial = await sim.stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 2000, metadata: { reason: 'damaged' }, reason: 'requested_by_customer' });
    expect(partial).toMatchObject({ object: 'refund', amount: 2000, status: 'pending', payment_intent: paymentIntent.id });
    expect(partial.id).toMatch(/^re_/);
    const tooLarge = await sim.stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 3001 }).catch((error: unknown) => error);
    expect(tooLarge).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((tooLarge as { code?: string }).code).toBe('amount_too_large');
    const rest = await sim.stripe.refunds.create({ payment_intent: paymentIntent.id });
    expect(rest.amount).toBe(3000);
    const none = await sim.stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 1 }).catch((error: unknown) => error);
    expect((none as { code?: string }).code).toBe('charge_already_refunded');

    await sim.webhooks.waitFor((event) => event.type === 'refund.created' && (event.data.object as Stripe.Refund).id === partial.id);
    await sim.webhooks.waitFor((event) => event.type === 'refund.updated' && (event.data.object as Stripe.Refund).id === partial.id && (event.data.object as Stripe.Refund).status === 'succeeded');
    await sim.webhooks.waitFor((event) => event.type === 'charge.refunded' && (event.data.object as Stripe.Charge).amount_refunded === 5000);
    expect((await sim.stripe.refunds.retrieve(partial.id)).status).toBe('succeeded');
    const charge = await sim.stripe.charges.retrieve(paymentIntent.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 5000, refunded: true });
    const listed = await sim.stripe.refunds.list({ payment_intent: paymentIntent.id });
    expect(listed.data.map((refund) => refund.id)).toEqual([rest.id, partial.id]);
    const transaction = await sim.stripe.balanceTransactions.retrieve(partial.balance_transaction as string);
    expect(transaction).toMatchObject({ amount: -2000, fee: 0, net: -2000, type: 'refund', reporting_category: 'refund', source: partial.id });
  });

  it('4000 0000 0000 5126: the refund starts succeeded, then fails (expired_or_canceled_card) and the money comes back to the balance', async () => {
    const paymentIntent = await paid(5000, 'usd', 'pm_card_refundFail');
    expect(paymentIntent.status).toBe('succeeded');
    const refund = await sim.stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 2000 });
    expect(refund).toMatchObject({ amount: 2000, status: 'succeeded' });
    await sim.webhooks.waitFor((event) => event.type === 'refund.created' && (event.data.object as Stripe.Refund).id === refund.id);

    const failedEvent = await sim.webhooks.waitFor((event) => event.type === 'refund.failed' && (event.data.object as Stripe.Refund).id === refund.id);
    expect(failedEvent.data.object).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card' });
    const updated = await sim.webhooks.waitFor((event) => event.type === 'refund.updated' && (event.data.object as Stripe.Refund).id === refund.id);
    expect(updated.data.object).toMatchObject({ status: 'failed' });
    expect(updated.data.previous_attributes).toMatchObject({ status: 'succeeded' });

    const failed = await sim.stripe.refunds.retrieve(refund.id);
    expect(failed).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card', balance_transaction: refund.balance_transaction });
    const back = await sim.stripe.balanceTransactions.retrieve(failed.failure_balance_transaction as string);
    expect(back).toMatchObject({ amount: 2000, fee: 0, net: 2000, type: 'refund_failure', reporting_category: 'refund_failure', source: refund.id });
    // The failed refund no longer counts against the charge: the whole amount is refundable again.
    const charge = await sim.stripe.charges.retrieve(paymentIntent.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 0, refunded: false });
    const again = await sim.stripe.refunds.create({ payment_intent: paymentIntent.id });
    expect(again.amount).toBe(5000);
  });

  it('refuses to refund an uncaptured payment', async () => {
    const paymentIntent = await sim.stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    const error = await sim.stripe.refunds.create({ payment_intent: paymentIntent.id }).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('charge_not_refundable');
  });
});

describe('payouts and transfers', () => {
  it('a payout goes pending → in_transit → paid with a negative payout balance transaction', async () => {
    const payout = await sim.stripe.payouts.create({ amount: 1234, currency: 'eur', destination: 'ba_seller_1', metadata: { seller: 's1' } });
    expect(payout).toMatchObject({ status: 'pending', amount: 1234, destination: 'ba_seller_1', metadata: { seller: 's1' } });
    expect(payout.id).toMatch(/^po_/);
    await sim.webhooks.waitFor((event) => event.type === 'payout.paid' && (event.data.object as Stripe.Payout).id === payout.id);
    expect((await sim.stripe.payouts.retrieve(payout.id)).status).toBe('paid');
    const transactions = await sim.stripe.balanceTransactions.list({ payout: payout.id });
    expect(transactions.data).toHaveLength(1);
    expect(transactions.data[0]).toMatchObject({ amount: -1234, type: 'payout', reporting_category: 'payout', source: payout.id });
  });

  it.each([
    ['ba_x_fail_closed', 'account_closed'],
    ['ba_x_fail_insufficient', 'insufficient_funds'],
  ])('a payout to %s fails with %s and the money comes back', async (destination, code) => {
    const payout = await sim.stripe.payouts.create({ amount: 500, currency: 'usd', destination });
    const event = await sim.webhooks.waitFor((received) => received.type === 'payout.failed' && (received.data.object as Stripe.Payout).id === payout.id);
    expect(event.data.object).toMatchObject({ status: 'failed', failure_code: code });
    const failed = await sim.stripe.payouts.retrieve(payout.id);
    expect(failed.failure_message).toBeTruthy();
    const reversal = await sim.stripe.balanceTransactions.retrieve(failed.failure_balance_transaction as string);
    expect(reversal).toMatchObject({ amount: 500, type: 'payout_failure', reporting_category: 'payout_reversal' });
    const listed = await sim.stripe.payouts.list({ status: 'failed' });
    expect(listed.data.some((item) => item.id === payout.id)).toBe(true);
  });

  it('a transfer is instant', async () => {
    const transfer = await sim.stripe.transfers.create({ amount: 700, currency: 'eur', destination: 'acct_seller', transfer_group: 'order-9' });
    expect(transfer.id).toMatch(/^tr_/);
    expect(await sim.stripe.transfers.retrieve(transfer.id)).toMatchObject({ amount: 700, destination: 'acct_seller' });
    await sim.webhooks.waitFor((event) => event.type === 'transfer.created' && (event.data.object as Stripe.Transfer).id === transfer.id);
    const transactions = await sim.stripe.balanceTransactions.list({ source: transfer.id });
    expect(transactions.data[0]).toMatchObject({ amount: -700, type: 'transfer' });
    expect((await sim.stripe.transfers.list({ limit: 1 })).data[0]?.id).toBe(transfer.id);
  });
});

describe('disputes', () => {
  async function disputed(): Promise<Stripe.Dispute> {
    const paymentIntent = await paid(4000, 'usd', 'pm_card_createDispute');
    const event = await sim.webhooks.waitFor((received) => received.type === 'charge.dispute.created' && (received.data.object as Stripe.Dispute).payment_intent === paymentIntent.id);
    return event.data.object as Stripe.Dispute;
  }

  it('a dispute withdraws the funds plus a 1500 fee; won returns the funds', async () => {
    const dispute = await disputed();
    expect(dispute.id).toMatch(/^dp_/);
    const withdrawal = await sim.stripe.balanceTransactions.retrieve(dispute.balance_transactions[0]?.id ?? '');
    expect(withdrawal).toMatchObject({ amount: -4000, fee: 1500, net: -5500, type: 'adjustment', reporting_category: 'dispute' });
    expect(dispute.balance_transactions[0]).toMatchObject({ object: 'balance_transaction', amount: -4000 });
    const closed = await sim.admin('POST', `/__admin/disputes/${dispute.id}/close`, { outcome: 'won' });
    expect(closed.status).toBe(200);
    expect((await sim.stripe.disputes.retrieve(dispute.id)).status).toBe('won');
    await sim.webhooks.waitFor((event) => event.type === 'charge.dispute.closed' && (event.data.object as Stripe.Dispute).id === dispute.id);
    const reinstated = await sim.stripe.balanceTransactions.list({ source: dispute.id });
    expect(reinstated.data.map((transaction) => transaction.amount).sort()).toEqual([-4000, 4000].sort());
    expect((await sim.admin('POST', `/__admin/disputes/${dispute.id}/close`, { outcome: 'lost' })).status).toBe(400);
  });

  it('lost keeps the funds withdrawn', async () => {
    const dispute = await disputed();
    await sim.admin('POST', `/__admin/disputes/${dispute.id}/close`, { outcome: 'lost' });
    expect((await sim.stripe.disputes.retrieve(dispute.id)).status).toBe('lost');
    expect((await sim.stripe.balanceTransactions.list({ source: dispute.id })).data).toHaveLength(1);
    expect((await sim.stripe.disputes.list({ limit: 100 })).data.some((item) => item.id === dispute.id)).toBe(true);
  });
});

describe('balance, balance transactions, events', () => {
  it('lists balance transactions with auto-pagination and created filters', async () => {
    const before = Math.floor(Date.now() / 1000);
    for (let index = 0; index < 12; index++) await paid(1000 + index, 'eur');
    const all: Stripe.BalanceTransaction[] = [];
    for await (const transaction of sim.stripe.balanceTransactions.list({ limit: 5, type: 'charge', created: { gte: before } })) all.push(transaction);
    const mine = all.filter((transaction) => transaction.currency === 'eur' && transaction.amount >= 1000 && transaction.amount < 1012);
    expect(mine.map((transaction) => transaction.amount).sort()).toEqual(Array.from({ length: 12 }, (_, index) => 1000 + index));
    expect(new Set(all.map((transaction) => transaction.id)).size).toBe(all.length);
    const future = await sim.stripe.balanceTransactions.list({ created: { gte: before + 3600 } });
    expect(future.data).toHaveLength(0);
    const older = await sim.stripe.balanceTransactions.list({ created: { lt: before }, limit: 100 });
    expect(older.data.every((transaction) => transaction.created < before)).toBe(true);
    const mineIds = new Set(mine.map((transaction) => transaction.id));
    expect(older.data.some((transaction) => mineIds.has(transaction.id))).toBe(false);
    const first = all[0];
    expect(first?.available_on).toBe((first?.created ?? 0) + 2 * 86_400);
    expect(first?.fee_details[0]?.type).toBe('stripe_fee');
  });

  it('balance splits pending and available', async () => {
    const balance = await sim.stripe.balance.retrieve();
    const eurPending = balance.pending.find((entry) => entry.currency === 'eur');
    expect(eurPending?.amount).toBeGreaterThan(0);
  });

  it('events can be listed by type and retrieved', async () => {
    const paymentIntent = await paid(333);
    const events = await sim.stripe.events.list({ type: 'payment_intent.succeeded', limit: 100 });
    const event = events.data.find((item) => (item.data.object as Stripe.PaymentIntent).id === paymentIntent.id);
    expect(event).toBeDefined();
    const retrieved = await sim.stripe.events.retrieve(event?.id ?? '');
    expect(retrieved).toMatchObject({ object: 'event', type: 'payment_intent.succeeded', livemode: false });
    const wildcard = await sim.stripe.events.list({ type: 'payment_intent.*', limit: 100 });
    expect(wildcard.data.every((item) => item.type.startsWith('payment_intent.'))).toBe(true);
  });
});

describe('admin: adjustments, fee overrides, config, settlement', () => {
  it('fee override and config change the fee; adjustments appear as balance transactions', async () => {
    const paymentIntent = await sim.stripe.paymentIntents.create({ amount: 10_000, currency: 'usd' });
    expect((await sim.admin('POST', `/__admin/payment_intents/${paymentIntent.id}/fee_override`, { feeMinor: 777 })).status).toBe(200);
    const confirmed = await sim.stripe.paymentIntents.confirm(paymentIntent.id, { payment_method: 'pm_card_visa', expand: ['latest_charge.balance_transaction'] });
    expect(((confirmed.latest_charge as Stripe.Charge).balance_transaction as Stripe.BalanceTransaction).fee).toBe(777);

    expect((await sim.admin('POST', '/__admin/config', { feePercentBps: 150, feeFixedMinor: 0 })).status).toBe(200);
    const cheaper = await sim.stripe.paymentIntents.create({ amount: 1001, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, expand: ['latest_charge.balance_transaction'] });
    expect(((cheaper.latest_charge as Stripe.Charge).balance_transaction as Stripe.BalanceTransaction).fee).toBe(15);
    expect((await sim.admin('POST', '/__admin/config', { feePercentBps: 290, feeFixedMinor: 30 })).status).toBe(200);
    expect((await sim.admin('POST', '/__admin/config', { feePercentBps: -1 })).status).toBe(400);

    const adjustment = await sim.admin<{ id: string; type: string; amount: number }>('POST', '/__admin/adjustments', { amount: -250, currency: 'usd', description: 'Bank correction' });
    expect(adjustment.json).toMatchObject({ type: 'adjustment', amount: -250 });
    expect((await sim.stripe.balanceTransactions.retrieve(adjustment.json.id)).description).toBe('Bank correction');
  });

  it('the settlement CSV lists the day’s balance transactions consistently with the API', async () => {
    const paymentIntent = await paid(12_345, 'usd');
    await paid(500, 'jpy');
    await paid(1230, 'kwd'); // Stripe takes three-decimal amounts in tens of the minor unit
    const day = new Date().toISOString().slice(0, 10);
    const response = await fetch(`${sim.url}/__admin/settlements/${day}.csv`);
    expect(response.status).toBe(200);
    const lines = (await response.text()).trim().split('\n');
    expect(lines[0]).toBe('balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,description');
    const rows = lines.slice(1).map((line) => line.split(','));
    const api: Stripe.BalanceTransaction[] = [];
    for await (const transaction of sim.stripe.balanceTransactions.list({ limit: 100 })) api.push(transaction);
    expect(rows).toHaveLength(api.length);
    const usdRow = rows.find((row) => row[9] === paymentIntent.id);
    expect(usdRow?.slice(3, 8)).toEqual(['usd', '123.45', '3.88', '119.57', 'charge']);
    expect(rows.find((row) => row[3] === 'jpy')?.slice(4, 7)).toEqual(['500', '45', '455']);
    expect(rows.find((row) => row[3] === 'kwd')?.slice(4, 7)).toEqual(['1.230', '0.066', '1.164']);
    const byId = new Map(api.map((transaction) => [transaction.id, transaction]));
    for (const row of rows) {
      const transaction = byId.get(row[0] ?? '');
      expect(transaction).toBeDefined();
      expect(row[1]).toBe(new Date((transaction?.created ?? 0) * 1000).toISOString().replace('.000Z', 'Z'));
      expect(row[8]).toBe(transaction?.source ?? '');
    }
    expect((await fetch(`${sim.url}/__admin/settlements/2024-02-30.csv`)).status).toBe(400);
    expect((await fetch(`${sim.url}/__admin/settlements/yesterday.csv`)).status).toBe(400);
    expect((await (await fetch(`${sim.url}/__admin/settlements/2001-01-01.csv`)).text()).trim().split('\n')).toHaveLength(1);
  });

  it('advancing the clock puts new transactions on another day', async () => {
    await sim.admin('POST', '/__admin/clock', { advanceSeconds: 86_400 });
    const paymentIntent = await paid(100);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const csv = await (await fetch(`${sim.url}/__admin/settlements/${tomorrow}.csv`)).text();
    await poll(() => (csv.includes(paymentIntent.id) ? true : undefined), 100, 'row');
  });
});
