// Issue 5 (pay-in): a buyer pays a checkout on the PSP's hosted page; webhooks and the PSP's
// current state move the payment through its lifecycle.
import { uniqueId } from './support/platform';
import {
  CARDS,
  answerChallenge,
  checkoutInput,
  createCheckout,
  paymentsDb,
  payOnHostedPage,
  waitForStatus,
} from './support/payin-helpers';

describe('pay-in through the hosted page', () => {
  test('happy path with two sellers: amounts, fees and nets to the cent, SUCCEEDED, events in the outbox', async () => {
    const sellerA = uniqueId('sellerA');
    const sellerB = uniqueId('sellerB');
    const created = await createCheckout(
      checkoutInput({
        orders: [
          { sellerId: sellerA, amountMinor: '6000', reference: 'order-A' },
          { sellerId: sellerB, amountMinor: 4000, reference: 'order-B' },
        ],
        returnUrl: 'https://shop.example/thanks',
        metadata: { cart: 'c-1' },
      }),
    );
    expect(created.status).toBe('REQUIRES_PAYMENT');
    expect(created.id).toMatch(/^pay_[0-9a-f-]{36}$/);
    expect(created.checkoutUrl).toMatch(/^http:\/\/localhost:\d+\/pay\/cs_/);
    expect(created.pspPaymentId).toMatch(/^pi_/);
    expect(created.amount).toEqual({ amountMinor: '10000', currency: 'USD', amount: '100.00' });
    const [orderA, orderB] = created.orders;
    expect(orderA).toMatchObject({ reference: 'order-A', status: 'PENDING', seller: { id: sellerA }, amount: { amountMinor: '6000', amount: '60.00' }, fee: { amountMinor: '174', amount: '1.74' }, netAmount: { amountMinor: '5826', amount: '58.26' } });
    expect(orderB).toMatchObject({ reference: 'order-B', seller: { id: sellerB }, amount: { amountMinor: '4000' }, fee: { amountMinor: '116', amount: '1.16' }, netAmount: { amountMinor: '3884', amount: '38.84' } });
    expect(orderA!.id).toMatch(/^ord_/);

    const paid = await payOnHostedPage(created.checkoutUrl!, CARDS.success);
    expect(paid.status).toBe(303);
    expect(paid.location).toBe('https://shop.example/thanks');

    const succeeded = await waitForStatus(created.id, 'SUCCEEDED');
    expect(succeeded.checkoutUrl).toBeNull();
    expect(succeeded.orders.map((order) => order.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const types = succeeded.timeline.map((entry) => entry.type);
    expect(types[0]).toBe('payment.created');
    expect(types).toEqual(expect.arrayContaining(['psp.checkout_session_created', 'payment.status_changed', 'psp.webhook_received']));
    const times = succeeded.timeline.map((entry) => Date.parse(entry.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // The simulator's endpoint is enabled for the events payments needs (PSP_WEBHOOK_EVENTS):
    // a card payment sends one webhook, not also charge.succeeded and checkout.session.completed.
    const webhookTypes = succeeded.timeline.filter((entry) => entry.type === 'psp.webhook_received').map((entry) => (entry.data as { eventType?: string }).eventType);
    expect(webhookTypes).toEqual(['payment_intent.succeeded']);

    const events = await paymentsDb<{ event_type: string; payload: Record<string, unknown> & { from?: string; to?: string } }>(
      `SELECT event_type, payload FROM outbox_messages WHERE correlation_id = $1 ORDER BY created_at, id`,
      [created.id],
    );
    const changes = events.filter((e) => e.event_type === 'payment.status_changed').map((e) => `${e.payload.from}->${e.payload.to}`);
    expect(changes).toEqual(['CREATED->REQUIRES_PAYMENT', 'REQUIRES_PAYMENT->SUCCEEDED']);
    const succeededEvents = events.filter((e) => e.event_type === 'payment.succeeded');
    expect(succeededEvents).toHaveLength(1);
    expect(succeededEvents[0]!.payload).toMatchObject({
      paymentId: created.id,
      amountMinor: '10000',
      currency: 'USD',
      pspPaymentIntentId: created.pspPaymentId,
      orders: [
        { paymentOrderId: orderA!.id, sellerId: sellerA, amountMinor: '6000', feeMinor: '174', netAmountMinor: '5826' },
        { paymentOrderId: orderB!.id, sellerId: sellerB, amountMinor: '4000', feeMinor: '116', netAmountMinor: '3884' },
      ],
    });
  });

  test('a declined card → FAILED with the PSP code and message; the page is withdrawn', async () => {
    const created = await createCheckout();
    await payOnHostedPage(created.checkoutUrl!, CARDS.decline);
    const failed = await waitForStatus(created.id, 'FAILED');
    expect(failed.failureCode).toBe('generic_decline');
    expect(failed.failureMessage).toBe('Your card was declined.');
    expect(failed.checkoutUrl).toBeNull();
    expect(failed.orders[0]!.status).toBe('FAILED');
    // FAILED is final: the hosted session is expired, so the page no longer takes a card.
    const deadline = Date.now() + 10_000;
    let second = await payOnHostedPage(created.checkoutUrl!, CARDS.success);
    while (second.status !== 409 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      second = await payOnHostedPage(created.checkoutUrl!, CARDS.success);
    }
    expect(second.status).toBe(409);
    expect((await waitForStatus(created.id, 'FAILED')).status).toBe('FAILED');
  });

  test('insufficient funds → FAILED insufficient_funds', async () => {
    const created = await createCheckout();
    await payOnHostedPage(created.checkoutUrl!, CARDS.insufficientFunds);
    const failed = await waitForStatus(created.id, 'FAILED');
    expect(failed.failureCode).toBe('insufficient_funds');
    expect(failed.failureMessage).toBe('Your card has insufficient funds.');
  });

  test('3-D Secure approved: REQUIRES_ACTION, then SUCCEEDED', async () => {
    const created = await createCheckout();
    const paid = await payOnHostedPage(created.checkoutUrl!, CARDS.threeDSecure);
    expect(paid.status).toBe(303);
    expect(paid.location).toMatch(/\/3ds$/);
    const challenged = await waitForStatus(created.id, 'REQUIRES_ACTION');
    expect(challenged.checkoutUrl).toBe(created.checkoutUrl);
    expect(await answerChallenge(created.checkoutUrl!, true)).toBeLessThan(500);
    await waitForStatus(created.id, 'SUCCEEDED');
  });

  test('3-D Secure denied → FAILED with the authentication error', async () => {
    const created = await createCheckout();
    await payOnHostedPage(created.checkoutUrl!, CARDS.threeDSecure);
    await waitForStatus(created.id, 'REQUIRES_ACTION');
    await answerChallenge(created.checkoutUrl!, false);
    const failed = await waitForStatus(created.id, 'FAILED');
    expect(failed.failureCode).toBe('authentication_required');
    expect(failed.failureMessage).toMatch(/unable to authenticate/);
  });

  test('a card that processes first: PROCESSING, then SUCCEEDED', async () => {
    const created = await createCheckout();
    await payOnHostedPage(created.checkoutUrl!, CARDS.processing);
    const final = await waitForStatus(created.id, ['PROCESSING', 'SUCCEEDED']);
    expect(['PROCESSING', 'SUCCEEDED']).toContain(final.status);
    await waitForStatus(created.id, 'SUCCEEDED');
  });
});
