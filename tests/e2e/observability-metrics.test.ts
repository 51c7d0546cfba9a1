// ARCHITECTURE.md, Observability: every service's GET /metrics carries, besides Node's defaults,
// the payment status changes (the success rate), latency histograms, PSP calls and errors by
// kind, queue depths and dead letters, and the outbox backlog. Read here as Prometheus reads
// them, before and after one paid checkout and one checkout the PSP refuses.
import { platform } from './support/platform';
import { CARDS, checkoutInput, clearPspFaults, createCheckout, createCheckoutOnce, payOnHostedPage, setPspFaults, waitForStatus } from './support/payin-helpers';

type Service = 'gateway' | 'payments' | 'ledger' | 'wallet' | 'payouts';
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the Prometheus text format (the subset prom-client writes: no timestamps, quoted label values). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, '$1');
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(service: Service): Promise<Sample[]> {
  const response = await fetch(new URL('/metrics', platform().urls[service]));
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

/** The sum of the samples named `name` whose labels include `labels`. */
function total(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

async function waitForMetric(service: Service, what: string, probe: (samples: readonly Sample[]) => boolean, timeoutMs = 15_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (let poll = 0; poll < timeoutMs / 100 + 1; poll++) {
    const samples = await scrape(service);
    if (probe(samples)) return samples;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${service} metrics never showed ${what} within ${timeoutMs} ms`);
}

test('a paid checkout shows in the payment, PSP, outbox, consumer, queue and GraphQL metrics of every service it crosses', async () => {
  const before = { payments: await scrape('payments'), ledger: await scrape('ledger'), wallet: await scrape('wallet'), gateway: await scrape('gateway') };
  const delta = (service: keyof typeof before, after: readonly Sample[], name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before[service], name, labels);

  const created = await createCheckout();
  await payOnHostedPage(created.checkoutUrl!, CARDS.success);
  await waitForStatus(created.id, 'SUCCEEDED');

  // The ledger and the wallet each consumed the payment.succeeded and published what it caused (counted
  // once the relay's marking committed, a moment after the consumer's commit); payments consumed their
  // two timeline events.
  const ledger = await waitForMetric(
    'ledger',
    'the posting and its timeline event',
    (s) =>
      delta('ledger', s, 'clearhouse_messages_consumed_total', { consumer: 'ledger.payment-succeeded', outcome: 'handled' }) >= 1 &&
      delta('ledger', s, 'clearhouse_outbox_published_total', { event_type: 'timeline.recorded' }) >= 1,
  );
  const wallet = await waitForMetric(
    'wallet',
    'the credit and its events',
    (s) =>
      delta('wallet', s, 'clearhouse_messages_consumed_total', { consumer: 'wallet.payment-succeeded', outcome: 'handled' }) >= 1 &&
      delta('wallet', s, 'clearhouse_outbox_published_total', { event_type: 'wallet.balance_changed' }) >= created.orders.length,
  );
  const payments = await waitForMetric('payments', 'both timeline events', (s) => delta('payments', s, 'clearhouse_messages_consumed_total', { consumer: 'payments.timeline', outcome: 'handled' }) >= 2);
  const gateway = await scrape('gateway');

  // Status changes, counted once each as their events were published: the success rate's numerator and
  // denominator. Where the shared platform may meanwhile settle earlier tests' payments (re-checks,
  // late webhooks), the counts below are at least this checkout's.
  expect(delta('payments', payments, 'clearhouse_payment_status_changes_total', { from: 'CREATED', to: 'REQUIRES_PAYMENT' })).toBe(1);
  expect(delta('payments', payments, 'clearhouse_payment_status_changes_total', { from: 'REQUIRES_PAYMENT', to: 'SUCCEEDED' })).toBeGreaterThanOrEqual(1);
  expect(delta('payments', payments, 'clearhouse_outbox_published_total', { event_type: 'payment.succeeded' })).toBeGreaterThanOrEqual(1);
  // PSP calls by operation and outcome, and their latency.
  expect(delta('payments', payments, 'clearhouse_psp_calls_total', { operation: 'createCheckoutSession', outcome: 'ok' })).toBe(1);
  expect(delta('payments', payments, 'clearhouse_psp_calls_total', { operation: 'retrievePaymentIntent', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
  expect(delta('payments', payments, 'clearhouse_psp_call_duration_seconds_count', { operation: 'createCheckoutSession' })).toBe(1);
  // What the ledger and the wallet published for it: at least this checkout's, since the shared platform
  // may meanwhile book earlier tests' disputes and deliveries (waited for above, checked here by name).
  expect(delta('ledger', ledger, 'clearhouse_outbox_published_total', { event_type: 'timeline.recorded' })).toBeGreaterThanOrEqual(1);
  expect(delta('wallet', wallet, 'clearhouse_outbox_published_total', { event_type: 'wallet.balance_changed' })).toBeGreaterThanOrEqual(created.orders.length);
  // Latency histograms: the checkout through the gateway and in the payments subgraph.
  expect(delta('gateway', gateway, 'clearhouse_graphql_operation_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(2);
  expect(delta('payments', payments, 'clearhouse_graphql_operation_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(2);

  // Queue depths and dead letters, read from the broker: one work and one dead-letter gauge per consumer.
  const ledgerQueues = ledger.filter((sample) => sample.name === 'clearhouse_queue_messages' && sample.labels['consumer'] === 'ledger.payment-succeeded');
  expect(ledgerQueues.map((sample) => sample.labels['kind']).sort()).toEqual(['dead_letter', 'work']);
  for (const sample of ledgerQueues) expect(sample.value).toBeGreaterThanOrEqual(0);
  // The outbox backlog drains to nothing once the relay has published.
  await waitForMetric('payments', 'an empty outbox backlog', (s) => total(s, 'clearhouse_outbox_backlog') === 0);
});

test('PSP errors are counted by kind, and a refused checkout changes no payment status', async () => {
  const before = await scrape('payments');
  await setPspFaults({ apiErrorRate: 1, paths: ['/v1/checkout/sessions'] });
  try {
    const refused = await createCheckoutOnce(checkoutInput());
    expect(refused.userErrors).toEqual([expect.objectContaining({ code: 'PSP_UNAVAILABLE' })]);
  } finally {
    await clearPspFaults();
  }
  const after = await scrape('payments');
  const delta = (name: string, labels: Record<string, string>) => total(after, name, labels) - total(before, name, labels);
  expect(delta('clearhouse_psp_calls_total', { operation: 'createCheckoutSession', outcome: 'server' })).toBeGreaterThanOrEqual(1);
  expect(delta('clearhouse_psp_calls_total', { operation: 'createCheckoutSession', outcome: 'ok' })).toBe(0);
  // Only a registration moves a payment out of CREATED, and this one failed.
  expect(delta('clearhouse_payment_status_changes_total', { from: 'CREATED' })).toBe(0);
  // The GraphQL answer carried a typed userError, not a GraphQL error: no error was counted.
  expect(delta('clearhouse_graphql_errors_total', {})).toBe(0);
});
