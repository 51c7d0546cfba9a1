// The bench's broker message counts (scripts/bench/message-counters.ts) come from the services'
// own counters at GET /metrics: one paid checkout must show as the messages it really causes.
import { messageDelta, messageSnapshot, messagesOf } from '../../scripts/bench/message-counters';
import { platform } from './support/platform';
import { CARDS, createCheckout, payOnHostedPage, waitForStatus } from './support/payin-helpers';

test('messagesOf sums the published and consumed counters over their labels and ignores everything else', () => {
  const exposition = [
    '# HELP clearhouse_outbox_published_total Outbox events published',
    '# TYPE clearhouse_outbox_published_total counter',
    'clearhouse_outbox_published_total{event_type="payment.succeeded",service="payments"} 3',
    'clearhouse_outbox_published_total{event_type="payment.status_changed",service="payments"} 7',
    'clearhouse_outbox_publish_failures_total{event_type="payout.paid",service="payments"} 5',
    'clearhouse_messages_consumed_total{consumer="payments.timeline",outcome="handled",service="payments"} 4',
    'clearhouse_messages_consumed_total{consumer="payments.timeline",outcome="duplicate",service="payments"} 1',
    'process_cpu_user_seconds_total{service="payments"} 12.5',
    '',
  ].join('\n');
  expect(messagesOf(exposition)).toEqual({ published: 10, consumed: 5 });
});

test('a paid checkout shows as the messages each service published and consumed for it', async () => {
  const { payments, ledger, wallet, payouts } = platform().urls;
  const urls = { payments, ledger, wallet, payouts };
  const before = await messageSnapshot(urls);
  expect([...before.keys()].sort()).toEqual(['ledger', 'payments', 'payouts', 'wallet']);

  const created = await createCheckout();
  await payOnHostedPage(created.checkoutUrl!, CARDS.success);
  await waitForStatus(created.id, 'SUCCEEDED');
  // Payments publishes two status changes and payment.succeeded; the ledger and the wallet consume
  // it and publish their timeline entries (the wallet also a balance per order it credits), which
  // payments consumes. At least that many: the shared platform may meanwhile book earlier tests'
  // disputes and deliveries (the bench's own platform runs nothing else).
  const expected = {
    payments: { published: 3, consumed: 2 },
    ledger: { published: 1, consumed: 1 },
    wallet: { published: 1 + created.orders.length, consumed: 1 },
  };
  const reached = (delta: ReturnType<typeof messageDelta>) =>
    Object.entries(expected).every(([service, want]) => (delta[service]?.published ?? 0) >= want.published && (delta[service]?.consumed ?? 0) >= want.consumed);
  const deadline = Date.now() + 15_000;
  let delta = messageDelta(before, await messageSnapshot(urls));
  while (!reached(delta) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    delta = messageDelta(before, await messageSnapshot(urls));
  }
  for (const [service, want] of Object.entries(expected)) {
    expect(delta[service]?.published).toBeGreaterThanOrEqual(want.published);
    expect(delta[service]?.consumed).toBeGreaterThanOrEqual(want.consumed);
  }
  expect(Object.keys(delta).sort()).toEqual(['ledger', 'payments', 'payouts', 'wallet']);
});
