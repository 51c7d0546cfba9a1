// POST /__admin/charges/:id/dispute: a dispute opened on an existing succeeded charge, the way the
// dispute test card opens one (same dispute object, balance transaction and webhook); bad input,
// an unknown, unsucceeded or already disputed charge is a 4xx that writes nothing.
import Stripe from 'stripe';
import { startTestSimulator, type TestSimulator } from '../testkit/testkit.js';

let sim: TestSimulator;

beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.stop();
});

type ErrorBody = { error: { type: string; code?: string; param?: string; message: string } };

async function paidCharge(amount: number, currency = 'usd', paymentMethod = 'pm_card_visa'): Promise<Stripe.Charge> {
  const paymentIntent = await sim.stripe.paymentIntents.create({ amount, currency, payment_method: paymentMethod, confirm: true });
  return sim.stripe.charges.retrieve(paymentIntent.latest_charge as string);
}

async function disputeCreatedEventsOf(chargeId: string): Promise<Stripe.Event[]> {
  const events: Stripe.Event[] = [];
  for await (const event of sim.stripe.events.list({ type: 'charge.dispute.created', limit: 100 })) {
    if ((event.data.object as Stripe.Dispute).charge === chargeId) events.push(event);
  }
  return events;
}

async function chargebackTransactionsOf(chargeId: string): Promise<Stripe.BalanceTransaction[]> {
  const transactions: Stripe.BalanceTransaction[] = [];
  for await (const transaction of sim.stripe.balanceTransactions.list({ type: 'adjustment', limit: 100 })) {
    if (transaction.description === `Chargeback withdrawal for ${chargeId}`) transactions.push(transaction);
  }
  return transactions;
}

/** Nothing about a dispute exists for the charge: no dispute, no withdrawal, no event, the charge not disputed. */
async function expectNoDispute(chargeId: string): Promise<void> {
  expect((await sim.stripe.disputes.list({ charge: chargeId })).data).toEqual([]);
  expect(await chargebackTransactionsOf(chargeId)).toEqual([]);
  expect(await disputeCreatedEventsOf(chargeId)).toEqual([]);
  expect((await sim.stripe.charges.retrieve(chargeId)).disputed).toBe(false);
}

describe('POST /__admin/charges/:id/dispute', () => {
  it('opens the dispute the dispute card opens: the same object, withdrawal with the dispute fee and charge.dispute.created; it persists and closes like one', async () => {
    const viaCard = await paidCharge(4000, 'usd', 'pm_card_createDispute');
    const cardEvent = await sim.webhooks.waitFor((event) => event.type === 'charge.dispute.created' && (event.data.object as Stripe.Dispute).charge === viaCard.id);
    const cardDispute = cardEvent.data.object as Stripe.Dispute;

    const charge = await paidCharge(4000);
    const opened = await sim.admin<Stripe.Dispute>('POST', `/__admin/charges/${charge.id}/dispute`);
    expect(opened.status).toBe(200);
    const dispute = opened.json;
    expect(dispute.id).toMatch(/^dp_/);
    expect(Object.keys(dispute).sort()).toEqual(Object.keys(cardDispute).sort());
    expect(dispute).toMatchObject({
      object: 'dispute',
      amount: 4000,
      currency: 'usd',
      charge: charge.id,
      payment_intent: charge.payment_intent,
      reason: 'fraudulent',
      status: 'needs_response',
      is_charge_refundable: false,
      evidence_details: { has_evidence: false, past_due: false, submission_count: 0, due_by: dispute.created + 7 * 86_400 },
    });
    expect(await sim.stripe.disputes.retrieve(dispute.id)).toEqual(dispute);
    expect((await sim.stripe.charges.retrieve(charge.id)).disputed).toBe(true);

    const [withdrawal] = dispute.balance_transactions;
    expect(withdrawal).toMatchObject({ object: 'balance_transaction', amount: -4000, fee: 1500, net: -5500, type: 'adjustment', reporting_category: 'dispute', source: dispute.id });
    expect(withdrawal).toEqual(await sim.stripe.balanceTransactions.retrieve(withdrawal?.id ?? ''));
    expect(withdrawal).toMatchObject({ amount: cardDispute.balance_transactions[0]?.amount, fee: cardDispute.balance_transactions[0]?.fee, type: cardDispute.balance_transactions[0]?.type, reporting_category: 'dispute' });
    expect(await chargebackTransactionsOf(charge.id)).toHaveLength(1);

    const event = await sim.webhooks.waitFor((received) => received.type === 'charge.dispute.created' && (received.data.object as Stripe.Dispute).id === dispute.id);
    expect(event.data.object).toEqual(dispute);
    expect(await disputeCreatedEventsOf(charge.id)).toHaveLength(1);

    // Written through, like every other change: still there after a restart.
    await sim.restart();
    expect(await sim.stripe.disputes.retrieve(dispute.id)).toEqual(dispute);
    expect((await sim.stripe.charges.retrieve(charge.id)).disputed).toBe(true);

    // A chargeback blocks refunds; closing it works as for a card dispute.
    const refund = await sim.stripe.refunds.create({ charge: charge.id, amount: 1 }).catch((error: unknown) => error);
    expect((refund as { code?: string }).code).toBe('charge_disputed');
    expect((await sim.admin('POST', `/__admin/disputes/${dispute.id}/close`, { outcome: 'won' })).status).toBe(200);
    await sim.webhooks.waitFor((received) => received.type === 'charge.dispute.closed' && (received.data.object as Stripe.Dispute).id === dispute.id);
    expect((await sim.stripe.balanceTransactions.list({ source: dispute.id })).data.map((transaction) => transaction.amount).sort()).toEqual([-4000, 4000].sort());
  });

  it('takes a reason and an amount up to what is left of the charge (captured − refunded)', async () => {
    const charge = await paidCharge(5000);
    await sim.stripe.refunds.create({ charge: charge.id, amount: 1000 });
    const tooMuch = await sim.admin<ErrorBody>('POST', `/__admin/charges/${charge.id}/dispute`, { amount: 4001 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.json.error).toMatchObject({ type: 'invalid_request_error', code: 'amount_too_large', param: 'amount' });
    expect(tooMuch.json.error.message).toContain('4000');
    await expectNoDispute(charge.id);

    const opened = await sim.admin<Stripe.Dispute>('POST', `/__admin/charges/${charge.id}/dispute`, { reason: 'product_not_received', amount: 2500 });
    expect(opened.status).toBe(200);
    expect(opened.json).toMatchObject({ amount: 2500, reason: 'product_not_received', status: 'needs_response', charge: charge.id });
    expect(opened.json.balance_transactions[0]).toMatchObject({ amount: -2500, fee: 1500, net: -4000, reporting_category: 'dispute' });
    const event = await sim.webhooks.waitFor((received) => received.type === 'charge.dispute.created' && (received.data.object as Stripe.Dispute).id === opened.json.id);
    expect(event.data.object).toMatchObject({ amount: 2500, reason: 'product_not_received' });

    // Without an amount the dispute takes all that is left.
    const rest = await paidCharge(5000);
    await sim.stripe.refunds.create({ charge: rest.id, amount: 1200 });
    expect((await sim.admin<Stripe.Dispute>('POST', `/__admin/charges/${rest.id}/dispute`, {})).json).toMatchObject({ amount: 3800, reason: 'fraudulent' });
  });

  it('refuses a second dispute on the same charge, and a charge whose dispute card dispute already arrived', async () => {
    const charge = await paidCharge(3000);
    const first = await sim.admin<Stripe.Dispute>('POST', `/__admin/charges/${charge.id}/dispute`, {});
    expect(first.status).toBe(200);
    const second = await sim.admin<ErrorBody>('POST', `/__admin/charges/${charge.id}/dispute`, { amount: 10 });
    expect(second.status).toBe(400);
    expect(second.json.error).toMatchObject({ type: 'invalid_request_error', code: 'charge_already_disputed' });
    expect((await sim.stripe.disputes.list({ charge: charge.id })).data.map((dispute) => dispute.id)).toEqual([first.json.id]);
    expect(await chargebackTransactionsOf(charge.id)).toHaveLength(1);
    expect(await disputeCreatedEventsOf(charge.id)).toHaveLength(1);

    const viaCard = await paidCharge(2000, 'usd', 'pm_card_createDispute');
    await sim.webhooks.waitFor((event) => event.type === 'charge.dispute.created' && (event.data.object as Stripe.Dispute).charge === viaCard.id);
    const again = await sim.admin<ErrorBody>('POST', `/__admin/charges/${viaCard.id}/dispute`, {});
    expect(again.status).toBe(400);
    expect(again.json.error.code).toBe('charge_already_disputed');
    expect((await sim.stripe.disputes.list({ charge: viaCard.id })).data).toHaveLength(1);
  });

  it('an unknown charge is a 404; a declined, uncaptured or fully refunded charge a 400; nothing is written', async () => {
    const unknown = await sim.admin<ErrorBody>('POST', '/__admin/charges/ch_doesnotexist/dispute', {});
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing', message: "No such charge: 'ch_doesnotexist'" });
    expect((await sim.admin<ErrorBody>('POST', '/__admin/charges/pi_notacharge/dispute', {})).status).toBe(404);
    expect((await sim.stripe.disputes.list({ charge: 'ch_doesnotexist' })).data).toEqual([]);

    const declined = await sim.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }).catch((error: unknown) => error);
    const declinedCharge = ((declined as { raw?: { charge?: string } }).raw?.charge ?? '') as string;
    expect(declinedCharge).toMatch(/^ch_/);
    const uncaptured = await sim.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', capture_method: 'manual', confirm: true });
    const fullyRefunded = await paidCharge(1000);
    await sim.stripe.refunds.create({ charge: fullyRefunded.id });
    for (const [chargeId, code] of [
      [declinedCharge, 'charge_not_disputable'],
      [uncaptured.latest_charge as string, 'charge_not_disputable'],
      [fullyRefunded.id, 'charge_already_refunded'],
    ] as const) {
      const refused = await sim.admin<ErrorBody>('POST', `/__admin/charges/${chargeId}/dispute`, {});
      expect({ chargeId, status: refused.status, code: refused.json.error.code }).toEqual({ chargeId, status: 400, code });
      await expectNoDispute(chargeId);
    }
  });

  it.each([
    ['amount 0', { amount: 0 }],
    ['a negative amount', { amount: -5 }],
    ['a fractional amount', { amount: 10.5 }],
    ['an amount as text', { amount: '100' }],
    ['an unknown reason', { reason: 'because' }],
    ['an unknown field', { amount: 100, outcome: 'won' }],
    ['a JSON array', [{ amount: 100 }]],
  ])('%s is a 400 naming the problem and writes nothing', async (_what, input) => {
    const charge = await paidCharge(2000);
    const refused = await sim.admin<ErrorBody>('POST', `/__admin/charges/${charge.id}/dispute`, input);
    expect(refused.status).toBe(400);
    expect(refused.json.error.type).toBe('invalid_request_error');
    expect(refused.json.error.message.length).toBeGreaterThan(0);
    await expectNoDispute(charge.id);
  });

  it('a body that is not JSON, or a KWD amount off its ten-step, is a 400 and writes nothing', async () => {
    const charge = await paidCharge(2000);
    const response = await fetch(`${sim.url}/__admin/charges/${charge.id}/dispute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{amount: 1' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.message).toBe('body must be JSON');
    await expectNoDispute(charge.id);

    const kwd = await paidCharge(1230, 'kwd');
    const offStep = await sim.admin<ErrorBody>('POST', `/__admin/charges/${kwd.id}/dispute`, { amount: 1225 });
    expect(offStep.status).toBe(400);
    expect(offStep.json.error).toMatchObject({ code: 'amount_invalid', param: 'amount' });
    await expectNoDispute(kwd.id);
    expect((await sim.admin<Stripe.Dispute>('POST', `/__admin/charges/${kwd.id}/dispute`, { amount: 1220 })).json).toMatchObject({ amount: 1220, currency: 'kwd' });
  });
});
