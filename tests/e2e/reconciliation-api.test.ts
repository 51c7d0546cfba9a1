// Issue 7 through the gateway: runReconciliation (ops), idempotent replay, the discrepancy queue
// with filters and access rules, resolveDiscrepancy, the CSV source, and a payment whose webhooks
// were dropped ending replayed (never left OPEN). The platform shares one simulator and one
// ledger with the other files, so this file asserts only on objects it created itself; a refund
// that failed at the PSP after it succeeded (card 4000 0000 0000 5126) whose webhooks were dropped
// ends re-synced through payments and reversed in the ledger. The
// exact-count cases (clean day, fee mismatch, duplicate) run against a private simulator in
// subgraphs/ledger/src/reconciliation/application/run-reconciliation.test.ts.
import { signCaller, systemCaller } from '@clearhouse/shared';
import { client, opsKey, platform, platformKey, rawGraphQL, uniqueId } from './support/platform';
import { CARDS, clearPspFaults, createCheckout, payOnHostedPage, pspPaymentIntentsOf, setPspFaults, sleep, waitForStatus } from './support/payin-helpers';
import { eventually, getOrder, paidCheckout, refundOrder, refundsAtPsp, seller, settledOrder } from './support/aftersale-helpers';

const RUN = `mutation($input: RunReconciliationInput!) { runReconciliation(input: $input) {
  replayed userErrors { code field message }
  run { id date status source matchedCount lineCount attempts error
        fixes { type pspReference ledgerReference amount { amountMinor currency } detail }
        discrepancies { id kind category status pspReference note } } } }`;
const QUEUE = `query($status: DiscrepancyStatus, $category: DiscrepancyCategory, $kind: DiscrepancyKind, $date: String, $first: Int, $after: String) {
  discrepancies(status: $status, category: $category, kind: $kind, date: $date, first: $first, after: $after) {
    edges { cursor node { id kind category status pspReference rule note actual { amountMinor currency } resolvedBy resolutionNote } }
    pageInfo { hasNextPage endCursor } } }`;
const RESOLVE = `mutation($input: ResolveDiscrepancyInput!) { resolveDiscrepancy(input: $input) {
  replayed userErrors { code field message } discrepancy { id status resolvedBy resolutionNote correctionReference } } }`;

interface RunPayload {
  replayed: boolean;
  userErrors: { code: string; message: string }[];
  run: { id: string; date: string; status: string; source: string; lineCount: number; matchedCount: number; attempts: number; fixes: { type: string; pspReference: string }[]; discrepancies: { id: string; kind: string; category: string; status: string; pspReference: string }[] } | null;
}

const today = () => new Date().toISOString().slice(0, 10);

async function run(input: Record<string, unknown>, apiKey = opsKey()): Promise<RunPayload> {
  return (await client(apiKey).request<{ runReconciliation: RunPayload }>(RUN, { input })).runReconciliation;
}

async function adjustmentAtPsp(amount: number): Promise<string> {
  const response = await fetch(`${platform().urls.psp}/__admin/adjustments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount, currency: 'usd', description: `e2e reconciliation ${uniqueId('adj')}` }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

afterEach(async () => {
  await clearPspFaults();
});

describe('reconciliation through the gateway', () => {
  test('ops run a day (idempotently), see an unknown adjustment UNCLASSIFIED, and resolve it with a note', async () => {
    const adjustmentId = await adjustmentAtPsp(-4_321);
    const key = uniqueId('recon');
    const first = await run({ idempotencyKey: key, date: today() });
    expect(first.userErrors).toEqual([]);
    expect(first.replayed).toBe(false);
    expect(first.run).toMatchObject({ date: today(), status: 'COMPLETED', source: 'API' });
    expect(first.run!.lineCount).toBeGreaterThanOrEqual(1);
    const unknown = first.run!.discrepancies.find((row) => row.pspReference === adjustmentId);
    expect(unknown).toMatchObject({ kind: 'MISSING_IN_LEDGER', category: 'UNCLASSIFIED', status: 'OPEN' });

    const again = await run({ idempotencyKey: key, date: today() });
    expect(again.replayed).toBe(true);
    expect(again.run!.id).toBe(first.run!.id);
    const reused = await run({ idempotencyKey: key, date: today(), source: 'CSV' });
    expect(reused.userErrors).toEqual([expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REUSED' })]);

    // Running the day again (new key, the CSV this time) records the adjustment once.
    const fromCsv = await run({ idempotencyKey: uniqueId('recon'), date: today(), source: 'CSV' });
    expect(fromCsv.run).toMatchObject({ status: 'COMPLETED', source: 'CSV' });
    expect(fromCsv.run!.discrepancies.filter((row) => row.pspReference === adjustmentId)).toHaveLength(1);
    expect(fromCsv.run!.discrepancies.find((row) => row.pspReference === adjustmentId)!.id).toBe(unknown!.id);

    // The queue, filtered and paged (platform may read).
    const queue = await client(platformKey()).request<{ discrepancies: { edges: { cursor: string; node: { id: string; pspReference: string; rule: string; actual: { amountMinor: string; currency: string } } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
      QUEUE,
      { status: 'OPEN', category: 'UNCLASSIFIED', kind: 'MISSING_IN_LEDGER', date: today(), first: 200 },
    );
    const listed = queue.discrepancies.edges.find((edge) => edge.node.id === unknown!.id);
    expect(listed?.node).toMatchObject({ pspReference: adjustmentId, rule: 'line.unknown_category', actual: { amountMinor: '-4321', currency: 'USD' } });
    const page = await client(opsKey()).request<{ discrepancies: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(QUEUE, { first: 1 });
    expect(page.discrepancies.edges).toHaveLength(1);
    if (page.discrepancies.pageInfo.hasNextPage) {
      const next = await client(opsKey()).request<{ discrepancies: { edges: { node: { id: string } }[] } }>(QUEUE, { first: 1, after: page.discrepancies.pageInfo.endCursor });
      expect(next.discrepancies.edges).toHaveLength(1);
    }

    // Only ops resolve; the same key replays; a resolved discrepancy stays listed, resolved.
    const platformTry = (await client(platformKey()).request<{ resolveDiscrepancy: { userErrors: { code: string }[] } }>(RESOLVE, { input: { idempotencyKey: uniqueId('res'), discrepancyId: unknown!.id, note: 'nope' } })).resolveDiscrepancy;
    expect(platformTry.userErrors).toEqual([expect.objectContaining({ code: 'FORBIDDEN' })]);
    const input = { idempotencyKey: uniqueId('res'), discrepancyId: unknown!.id, note: 'PSP support: a test adjustment, no money of ours' };
    const resolved = (await client(opsKey()).request<{ resolveDiscrepancy: { replayed: boolean; userErrors: unknown[]; discrepancy: { status: string; resolutionNote: string; correctionReference: string | null } } }>(RESOLVE, { input })).resolveDiscrepancy;
    expect(resolved).toMatchObject({ replayed: false, userErrors: [], discrepancy: { status: 'RESOLVED', resolutionNote: input.note, correctionReference: null } });
    const replayed = (await client(opsKey()).request<{ resolveDiscrepancy: { replayed: boolean } }>(RESOLVE, { input })).resolveDiscrepancy;
    expect(replayed.replayed).toBe(true);
    const twice = (await client(opsKey()).request<{ resolveDiscrepancy: { userErrors: { code: string }[] } }>(RESOLVE, { input: { ...input, idempotencyKey: uniqueId('res') } })).resolveDiscrepancy;
    expect(twice.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_STATE' })]);
    const resolvedList = await client(opsKey()).request<{ discrepancies: { edges: { node: { id: string; status: string } }[] } }>(QUEUE, { status: 'RESOLVED', date: today(), first: 200 });
    expect(resolvedList.discrepancies.edges.some((edge) => edge.node.id === unknown!.id)).toBe(true);

    const byId = await client(platformKey()).request<{ reconciliationRun: { id: string; status: string } | null }>(`query($id: ID!) { reconciliationRun(id: $id) { id status } }`, { id: first.run!.id });
    expect(byId.reconciliationRun).toMatchObject({ id: first.run!.id, status: 'COMPLETED' });
  });

  test('a payment whose webhooks were dropped is replayed from the PSP state (never left open)', async () => {
    const created = await createCheckout();
    // Every webhook is dropped until the payment has settled: the simulator decides to drop when
    // it delivers, which can be after the hosted page has answered.
    let intent: { id: string; status: string } | undefined;
    await setPspFaults({ webhookDropRate: 1 });
    try {
      await payOnHostedPage(created.checkoutUrl!, CARDS.success);
      [intent] = await pspPaymentIntentsOf(created.id);
      expect(intent?.status).toBe('succeeded');
      // Right away: the reconciliation usually gets there before the payments re-check does.
      const result = await run({ idempotencyKey: uniqueId('recon'), date: today() });
      expect(result.userErrors).toEqual([]);
      const found = result.run!.discrepancies.find((row) => row.pspReference === intent!.id);
      if (found) {
        expect(found).toMatchObject({ kind: 'MISSING_IN_LEDGER', category: 'AUTO_FIXED', status: 'RESOLVED' });
        expect(result.run!.fixes.some((fix) => fix.type === 'PAYMENT_REPLAYED' && fix.pspReference === intent!.id)).toBe(true);
      }
      const succeeded = await waitForStatus(created.id, 'SUCCEEDED', 20_000);
      // Webhooks sent before the faults were set (payment_intent.created) may have arrived; none
      // that says the payment succeeded did: the state came from the PSP through the replay path.
      const webhooksAfterPaying = succeeded.timeline.filter((entry) => entry.type === 'psp.webhook_received' && (entry.data as { eventType?: string }).eventType !== 'payment_intent.created');
      expect(webhooksAfterPaying).toEqual([]);
    } finally {
      await clearPspFaults();
    }
    // The ledger follows through payment.succeeded; a later run matches the charge.
    let posted = false;
    for (let attempt = 0; attempt < 80 && !posted; attempt++) {
      const ledger = await client(platformKey()).request<{ payment: { ledgerTransactions: { kind: string }[] } }>(`query($id: ID!) { payment(id: $id) { ledgerTransactions { kind } } }`, { id: created.id });
      posted = ledger.payment.ledgerTransactions.some((tx) => tx.kind === 'payment_succeeded');
      if (!posted) await sleep(250);
    }
    expect(posted).toBe(true);
    const later = await run({ idempotencyKey: uniqueId('recon'), date: today() });
    expect(later.run!.discrepancies.filter((row) => row.pspReference === intent!.id && row.status === 'OPEN')).toEqual([]);
  });

  test('a refund that failed at the PSP after it succeeded, its webhooks dropped, is re-synced through payments and reversed in the ledger', async () => {
    const paid = await paidCheckout({ orders: [{ sellerId: seller(), amountMinor: '5000' }] }, CARDS.refundFails);
    const orderId = paid.orders[0]!.id;
    const [intent] = await pspPaymentIntentsOf(paid.id);
    const ledgerKinds = async () =>
      (await client(platformKey()).request<{ payment: { ledgerTransactions: { kind: string }[] } }>(`query($id: ID!) { payment(id: $id) { ledgerTransactions { kind } } }`, { id: paid.id })).payment.ledgerTransactions.map((tx) => tx.kind);
    let pspRefundId: string | undefined;
    // Every webhook is dropped while the refund fails at the PSP: payments never hears of it (its
    // re-check looks at PENDING refunds only), so only the reconciliation can find it.
    await setPspFaults({ webhookDropRate: 1 });
    try {
      const refunded = await refundOrder({ paymentOrderId: orderId });
      expect(refunded.userErrors).toEqual([]);
      expect(refunded.refund!.status).toBe('SUCCEEDED'); // the PSP answered `succeeded` at once
      const [failed] = await eventually(() => refundsAtPsp(intent!.id), (refunds) => refunds[0]?.status === 'failed', 15_000, 'refund failed at the PSP');
      pspRefundId = failed!.id;
      // refund.succeeded reached the ledger (the refund line matches it); the failure reached nobody.
      await eventually(ledgerKinds, (kinds) => kinds.includes('refund_succeeded'), 15_000, 'refund_succeeded posted');
      expect((await getOrder(orderId)).refunds[0]!.status).toBe('SUCCEEDED');

      const result = await run({ idempotencyKey: uniqueId('recon'), date: today() });
      expect(result.userErrors).toEqual([]);
      expect(result.run!.discrepancies.filter((row) => row.pspReference === pspRefundId)).toEqual([
        expect.objectContaining({ kind: 'MISSING_IN_LEDGER', category: 'AUTO_FIXED', status: 'RESOLVED' }),
      ]);
      expect(result.run!.fixes.filter((fix) => fix.pspReference === pspRefundId)).toEqual([expect.objectContaining({ type: 'REFUND_RESYNCED', ledgerReference: `refund_reversed:${refunded.refund!.id}` })]);
    } finally {
      await clearPspFaults();
    }
    // Payments reversed the refund; the ledger follows through refund.reversed; a later run matches both lines.
    expect((await settledOrder(orderId, (order) => order.refunds[0]?.status === 'FAILED', 15_000, 'refund FAILED')).status).toBe('SUCCEEDED');
    await eventually(ledgerKinds, (kinds) => kinds.includes('refund_reversed'), 20_000, 'refund_reversed posted');
    const later = await run({ idempotencyKey: uniqueId('recon'), date: today() });
    expect(later.run!.discrepancies.filter((row) => row.pspReference === pspRefundId && row.status === 'OPEN')).toEqual([]);
  });

  test('access: seller keys are FORBIDDEN, platform cannot run, bad dates are INVALID_INPUT, the replay route wants a signed caller', async () => {
    const sellerKey = (await client(platformKey()).request<{ createSellerApiKey: { apiKey: string } }>(`mutation($s: ID!) { createSellerApiKey(sellerId: $s) { apiKey } }`, { s: uniqueId('seller') })).createSellerApiKey.apiKey;
    const url = platform().urls.gateway;
    const queue = await rawGraphQL(url, { query: QUEUE, variables: { first: 1 } }, { authorization: `Bearer ${sellerKey}` });
    expect(queue.json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(queue.json.data?.discrepancies ?? null).toBeNull();
    const sellerRun = await run({ idempotencyKey: uniqueId('recon'), date: today() }, sellerKey);
    expect(sellerRun.userErrors).toEqual([expect.objectContaining({ code: 'FORBIDDEN' })]);
    const platformRun = await run({ idempotencyKey: uniqueId('recon'), date: today() }, platformKey());
    expect(platformRun.userErrors).toEqual([expect.objectContaining({ code: 'FORBIDDEN' })]);
    expect((await run({ idempotencyKey: uniqueId('recon'), date: '2026-02-30' })).userErrors).toEqual([expect.objectContaining({ code: 'INVALID_INPUT' })]);
    expect((await run({ idempotencyKey: uniqueId('recon'), date: '2999-01-01' })).userErrors).toEqual([expect.objectContaining({ code: 'INVALID_INPUT' })]);

    const syncUrl = new URL('/internal/payments/sync-psp', new URL(platform().urls.payments).origin);
    const unsigned = await fetch(syncUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paymentIntentId: 'pi_x' }) });
    expect(unsigned.status).toBe(401);
    const syncBody = JSON.stringify({ paymentIntentId: 'pi_doesnotexist' });
    const signed = await fetch(syncUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signCaller(systemCaller('e2e'), platform().env.INTERNAL_SIGNING_SECRET!, { method: 'POST', url: syncUrl.toString(), body: syncBody }) },
      body: syncBody,
    });
    expect(signed.status).toBe(404);
  });
});
