// Issue 5 (pay-in) under PSP faults: duplicated, reordered and lost webhooks, and errors and
// timeouts while registering a checkout. Faults are global to the simulator, so this file runs
// its cases one after another, targets API faults at the checkout-session path only, and keeps
// each fault window short; the other files' clients retry PSP_UNAVAILABLE with the same key.
import {
  CARDS,
  answerChallenge,
  checkoutInput,
  clearPspFaults,
  createCheckout,
  createCheckoutOnce,
  paymentsDb,
  payOnHostedPage,
  pspLog,
  pspPaymentIntentsOf,
  setPspFaults,
  waitForStatus,
} from './support/payin-helpers';

afterEach(async () => {
  await clearPspFaults();
});

async function outboxOf(paymentId: string): Promise<{ event_type: string; payload: { from?: string; to?: string } }[]> {
  return paymentsDb(`SELECT event_type, payload FROM outbox_messages WHERE correlation_id = $1 ORDER BY created_at, id`, [paymentId]);
}

describe('webhook faults end in one correct state', () => {
  test('every webhook duplicated and shuffled: SUCCEEDED once, one payment.succeeded', async () => {
    const created = await createCheckout();
    await setPspFaults({ webhookDuplicateRate: 1, webhookShuffle: true });
    await payOnHostedPage(created.checkoutUrl!, CARDS.threeDSecure);
    await waitForStatus(created.id, ['REQUIRES_ACTION', 'SUCCEEDED']);
    await answerChallenge(created.checkoutUrl!, true);
    await waitForStatus(created.id, 'SUCCEEDED');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // let the late copies arrive
    const events = await outboxOf(created.id);
    expect(events.filter((e) => e.event_type === 'payment.succeeded')).toHaveLength(1);
    const path = events.filter((e) => e.event_type === 'payment.status_changed').map((e) => `${e.payload.from}->${e.payload.to}`);
    expect(path[0]).toBe('CREATED->REQUIRES_PAYMENT');
    expect(path.at(-1)!.endsWith('->SUCCEEDED')).toBe(true);
    expect(new Set(path).size).toBe(path.length);
  });

  test('every webhook dropped: the scheduled re-check settles the payment', async () => {
    await setPspFaults({ webhookDropRate: 1 });
    const paid = await createCheckout();
    const declined = await createCheckout();
    await payOnHostedPage(paid.checkoutUrl!, CARDS.success);
    await payOnHostedPage(declined.checkoutUrl!, CARDS.decline);
    const succeeded = await waitForStatus(paid.id, 'SUCCEEDED', 20_000);
    expect(succeeded.timeline.some((entry) => entry.type === 'payment.status_changed' && entry.message.includes('re-check'))).toBe(true);
    expect(succeeded.timeline.some((entry) => entry.type === 'psp.webhook_received')).toBe(false);
    const failed = await waitForStatus(declined.id, 'FAILED', 20_000);
    expect(failed.failureCode).toBe('generic_decline');
  });
});

describe('PSP faults while registering a checkout', () => {
  test('PSP errors → PSP_UNAVAILABLE; a retry with the same key completes the same payment', async () => {
    const input = checkoutInput();
    await setPspFaults({ apiErrorRate: 1, paths: ['/v1/checkout/sessions'] });
    const failed = await createCheckoutOnce(input);
    expect(failed.payment).toBeNull();
    expect(failed.userErrors).toEqual([expect.objectContaining({ code: 'PSP_UNAVAILABLE' })]);
    const [row] = await paymentsDb<{ id: string; status: string }>(`SELECT id, status FROM payments WHERE idempotency_key = $1`, [input.idempotencyKey]);
    expect(row!.status).toBe('CREATED');
    await clearPspFaults();

    const retried = await createCheckoutOnce(input);
    expect(retried.userErrors).toEqual([]);
    expect(retried.replayed).toBe(false);
    expect(retried.payment!.id).toBe(row!.id);
    expect(retried.payment!.status).toBe('REQUIRES_PAYMENT');
    expect((await paymentsDb(`SELECT id FROM payments WHERE idempotency_key = $1`, [input.idempotencyKey])).length).toBe(1);
    expect(await pspPaymentIntentsOf(row!.id)).toHaveLength(1);
    expect(retried.payment!.timeline.some((entry) => entry.type === 'psp.call_failed')).toBe(true);
    expect((await createCheckoutOnce(input)).replayed).toBe(true);

    await payOnHostedPage(retried.payment!.checkoutUrl!, CARDS.success);
    await waitForStatus(row!.id, 'SUCCEEDED');
  });

  test('PSP timeouts → PSP_UNAVAILABLE; the retry completes the same payment with one payment intent', async () => {
    const input = checkoutInput();
    const since = new Date().toISOString();
    await setPspFaults({ apiTimeoutRate: 1, paths: ['/v1/checkout/sessions'] });
    const first = await createCheckoutOnce(input);
    // A timed-out request the PSP did apply is replayed for the same key on the next attempt, so
    // the first call may already succeed; otherwise every attempt timed out.
    if (first.userErrors.length > 0) expect(first.userErrors).toEqual([expect.objectContaining({ code: 'PSP_UNAVAILABLE' })]);
    await clearPspFaults();
    const log = await pspLog(since);
    expect(log.some((entry) => entry.outcome === 'fault_timeout' && entry.idempotencyKey?.startsWith('checkout:pay_'))).toBe(true);

    const retried = await createCheckout(input);
    const rows = await paymentsDb<{ id: string }>(`SELECT id FROM payments WHERE idempotency_key = $1`, [input.idempotencyKey]);
    expect(rows.map((r) => r.id)).toEqual([retried.id]);
    expect(await pspPaymentIntentsOf(retried.id)).toHaveLength(1);
    expect(retried.status).toBe('REQUIRES_PAYMENT');
    expect(retried.timeline.some((entry) => entry.type === 'psp.call_failed' && (entry.data as { kind?: string }).kind === 'timeout')).toBe(true);
  });

  test('the same key while the first request is still running → IDEMPOTENCY_KEY_IN_USE', async () => {
    const input = checkoutInput();
    await setPspFaults({ apiLatencyMs: 1000, paths: ['/v1/checkout/sessions'] });
    const first = createCheckoutOnce(input);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await createCheckoutOnce(input);
    expect(second.payment).toBeNull();
    expect(second.userErrors).toEqual([expect.objectContaining({ code: 'IDEMPOTENCY_KEY_IN_USE' })]);
    const done = await first;
    expect(done.userErrors).toEqual([]);
    await clearPspFaults();
    const replay = await createCheckoutOnce(input);
    expect(replay).toMatchObject({ replayed: true, payment: { id: done.payment!.id } });
  });
});
