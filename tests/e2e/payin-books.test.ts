// The main job end to end: a two-seller checkout paid on the hosted page reaches SUCCEEDED, the
// ledger holds one balanced posting to the cent, each wallet shows its net as pending, the
// payment's timeline shows what every service did, and a dashboard subscribed to a seller's
// balances saw the change live.
import { eventually, walletBalances } from './support/aftersale-helpers';
import { CARDS, checkoutInput, createCheckout, getPayment, payOnHostedPage, waitForStatus } from './support/payin-helpers';
import { client, platformKey, uniqueId } from './support/platform';
import { collect, wsClient } from './support/subscriptions';

const LEDGER = `query($id: ID!) { payment(id: $id) { ledgerTransactions { reference kind entries { accountCode direction amount { amountMinor currency } } } } }`;
const BALANCES = `subscription($id: ID!) { sellerBalancesUpdated(sellerId: $id) { id balances { currency pending { amountMinor } available { amountMinor } reserved { amountMinor } } } }`;

interface LedgerTx {
  reference: string;
  kind: string;
  entries: { accountCode: string; direction: 'DEBIT' | 'CREDIT'; amount: { amountMinor: string; currency: string } }[];
}
interface BalancesUpdate {
  sellerBalancesUpdated: { id: string; balances: { currency: string; pending: { amountMinor: string } }[] };
}

test('two sellers: payment, ledger, wallets, timeline and a live balance subscription agree to the cent', async () => {
  const sellerA = uniqueId('seller');
  const sellerB = uniqueId('seller');
  const payment = await createCheckout(checkoutInput({ orders: [{ sellerId: sellerA, amountMinor: '6000' }, { sellerId: sellerB, amountMinor: '4000' }] }));
  const ws = wsClient(platformKey());
  const balances = collect<BalancesUpdate>(ws, BALANCES, { id: sellerA });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await payOnHostedPage(payment.checkoutUrl!, CARDS.success);
    const succeeded = await waitForStatus(payment.id, 'SUCCEEDED');
    const fees = Object.fromEntries(succeeded.orders.map((o) => [o.seller.id, o.fee.amountMinor]));
    const nets = Object.fromEntries(succeeded.orders.map((o) => [o.seller.id, o.netAmount.amountMinor]));
    expect(fees).toEqual({ [sellerA]: '174', [sellerB]: '116' });
    expect(nets).toEqual({ [sellerA]: '5826', [sellerB]: '3884' });

    // The ledger: exactly one posting for the payment, per ARCHITECTURE.md's worked example.
    const transactions = await eventually(
      async () => (await client(platformKey()).request<{ payment: { ledgerTransactions: LedgerTx[] } }>(LEDGER, { id: payment.id })).payment.ledgerTransactions,
      (txs) => txs.length > 0,
      20_000,
      'ledger posting',
    );
    expect(transactions).toHaveLength(1);
    const byAccount: Record<string, bigint> = {};
    for (const entry of transactions[0]!.entries) {
      expect(entry.amount.currency).toBe('USD');
      const signed = (entry.direction === 'DEBIT' ? 1n : -1n) * BigInt(entry.amount.amountMinor);
      byAccount[entry.accountCode] = (byAccount[entry.accountCode] ?? 0n) + signed;
    }
    expect(byAccount).toEqual({
      psp_receivable: 10_000n,
      [`seller_pending:${sellerA}`]: -5_826n,
      [`seller_pending:${sellerB}`]: -3_884n,
      platform_fee_revenue: -290n,
    });

    // The wallets: each seller's net, pending.
    for (const [sellerId, net] of [[sellerA, '5826'], [sellerB, '3884']] as const) {
      const rows = await eventually(() => walletBalances(sellerId), (b) => b.some((x) => x.currency === 'USD' && x.pending.amountMinor === net), 20_000, `wallet of ${sellerId}`);
      expect(rows.find((x) => x.currency === 'USD')).toMatchObject({ pending: { amountMinor: net }, available: { amountMinor: '0' } });
    }

    // The live subscription saw seller A's pending balance rise.
    const updates = await balances.until((values) => values.some((u) => u.sellerBalancesUpdated.balances.some((b) => b.currency === 'USD' && b.pending.amountMinor === '5826')));
    expect(updates.every((u) => u.sellerBalancesUpdated.id === sellerA)).toBe(true);

    // The timeline shows the PSP, payments, ledger and wallet steps.
    const withTimeline = await eventually(() => getPayment(payment.id), (p) => !!p && ['ledger', 'wallet'].every((s) => p.timeline.some((e) => e.source === s)), 20_000, 'timeline from every service');
    const sources = new Set(withTimeline!.timeline.map((e) => e.source));
    for (const source of ['payments', 'psp', 'ledger', 'wallet']) expect(sources).toContain(source);
    const times = withTimeline!.timeline.map((e) => Date.parse(e.at));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
  } finally {
    balances.stop();
    await ws.dispose();
  }
});
