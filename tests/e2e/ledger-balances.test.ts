// Ledger and wallet through the gateway: events published on the platform's broker (as the
// payments flow would) become ledger postings and wallet balances; trialBalance, ledgerAccount,
// journalTransactions, seller balances, the ops audit, and the seller-isolation rule.
import { Client } from 'pg';
import { Connection } from 'rabbitmq-client';
import {
  ConfirmPublisher,
  computeFee,
  declareTopology,
  encodeEnvelope,
  eventProperties,
  newEvent,
  serializeEventPayload,
  type EventKey,
  type EventPayload,
} from '@clearhouse/shared';
import { CARDS, checkoutInput, createCheckout, payOnHostedPage, waitForStatus } from './support/payin-helpers';
import { client, opsKey, platform, platformKey, rawGraphQL, uniqueId } from './support/platform';

const AT = new Date('2025-04-01T12:00:00.000Z');
const FEES = { percentBps: 290n, fixedMinor: 0n };

let connection: Connection;
let publisher: ConfirmPublisher;
let exchange: string;

beforeAll(async () => {
  const env = platform().env;
  connection = new Connection({ url: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', connectionName: `${env.BROKER_PREFIX}-e2e-ledger` });
  connection.on('error', () => undefined);
  await connection.onConnect(10_000);
  ({ exchange } = await declareTopology(connection, env.BROKER_PREFIX!));
  publisher = new ConfirmPublisher(connection);
});

afterAll(async () => {
  await publisher.close();
  await connection.close();
});

async function publish<K extends EventKey>(key: K, correlationId: string, payload: EventPayload<K>): Promise<void> {
  const [type, version] = key.split('@') as [string, string];
  const event = newEvent(type, Number(version), correlationId, serializeEventPayload(key, payload));
  await publisher.publish({ exchange, routingKey: event.type, ...eventProperties(event) }, encodeEnvelope(event));
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadlineMs = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadlineMs) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const accountQuery = `query($code: String!, $currency: String!) {
  ledgerAccount(code: $code, currency: $currency) { code currency type balance { amountMinor amount currency } balanceAt(at: "2025-03-31T00:00:00.000Z") { amountMinor }
    entries(first: 10) { edges { cursor node { direction amount { amountMinor } transactionId } } pageInfo { hasNextPage } } }
}`;
const sellerQuery = `query($id: ID!) { seller(id: $id) { id balances { currency pending { amountMinor } available { amountMinor } reserved { amountMinor } } } }`;

interface AccountResult {
  ledgerAccount: { code: string; type: string; balance: { amountMinor: string; amount: string }; balanceAt: { amountMinor: string }; entries: { edges: unknown[] } } | null;
}
interface SellerResult {
  seller: { id: string; balances: { currency: string; pending: { amountMinor: string }; available: { amountMinor: string }; reserved: { amountMinor: string } }[] } | null;
}

describe('ledger and wallet through the gateway', () => {
  const sellerA = uniqueId('seller');
  const sellerB = uniqueId('seller');
  const paymentId = uniqueId('pay');
  const feeA = computeFee(6_000n, FEES);
  const feeB = computeFee(4_000n, FEES);

  beforeAll(async () => {
    await publish('payment.succeeded@1', paymentId, {
      paymentId,
      buyerId: 'buyer_e2e',
      currency: 'USD',
      amountMinor: 10_000n,
      pspPaymentIntentId: `pi_${paymentId}`,
      succeededAt: AT,
      orders: [
        { paymentOrderId: `${paymentId}_a`, sellerId: sellerA, amountMinor: 6_000n, feeMinor: feeA, netAmountMinor: 6_000n - feeA },
        { paymentOrderId: `${paymentId}_b`, sellerId: sellerB, amountMinor: 4_000n, feeMinor: feeB, netAmountMinor: 4_000n - feeB },
      ],
    });
    await publish('order.delivered@1', paymentId, {
      paymentOrderId: `${paymentId}_a`,
      paymentId,
      sellerId: sellerA,
      currency: 'USD',
      netAmountMinor: 6_000n - feeA,
      deliveredAt: AT,
    });
  });

  test('postings show up in ledgerAccount, trialBalance and journalTransactions', async () => {
    const platformClient = client(platformKey());
    const available = await eventually(async () => {
      const result = await platformClient.request<AccountResult>(accountQuery, { code: `seller_available:${sellerA}`, currency: 'USD' });
      return result.ledgerAccount?.balance.amountMinor === (6_000n - feeA).toString() ? result.ledgerAccount : undefined;
    }, 'seller A available in the ledger');
    expect(available.type).toBe('LIABILITY');
    expect(available.balanceAt.amountMinor).toBe('0');
    expect(available.entries.edges).toHaveLength(1);
    const pendingB = await platformClient.request<AccountResult>(accountQuery, { code: `seller_pending:${sellerB}`, currency: 'USD' });
    expect(pendingB.ledgerAccount?.balance.amountMinor).toBe((4_000n - feeB).toString());

    const trial = await platformClient.request<{ trialBalance: { balanced: boolean; totalDebits: { amountMinor: string }; totalCredits: { amountMinor: string } } }>(
      `query { trialBalance(currency: "USD") { balanced totalDebits { amountMinor } totalCredits { amountMinor } } }`,
    );
    expect(trial.trialBalance.balanced).toBe(true);
    expect(trial.trialBalance.totalDebits.amountMinor).toBe(trial.trialBalance.totalCredits.amountMinor);

    const journal = await platformClient.request<{ journalTransactions: { edges: { node: { reference: string; kind: string; entries: unknown[] } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } }>(
      `query { journalTransactions(first: 200, kind: "payment_succeeded") { edges { cursor node { reference kind postedAt entries { accountCode direction amount { amountMinor } } } } pageInfo { hasNextPage endCursor } } }`,
    );
    const ours = journal.journalTransactions.edges.find((edge) => edge.node.reference === `payment_succeeded:${paymentId}`);
    expect(ours?.node.entries).toHaveLength(4);
  });

  test('the wallet projects the same balances', async () => {
    const platformClient = client(platformKey());
    const seller = await eventually(async () => {
      const result = await platformClient.request<SellerResult>(sellerQuery, { id: sellerA });
      const usd = result.seller?.balances.find((balance) => balance.currency === 'USD');
      return usd?.available.amountMinor === (6_000n - feeA).toString() ? usd : undefined;
    }, 'seller A wallet');
    expect(seller.pending.amountMinor).toBe('0');
    expect(seller.reserved.amountMinor).toBe('0');
    const sellerB2 = await eventually(async () => (await platformClient.request<SellerResult>(sellerQuery, { id: sellerB })).seller?.balances[0], 'seller B wallet');
    expect(sellerB2.pending.amountMinor).toBe((4_000n - feeB).toString());
  });

  test('a seller key reads only its own seller accounts and balances', async () => {
    const sellerKey = (await client(platformKey()).request<{ createSellerApiKey: { apiKey: string } }>(`mutation($s: ID!) { createSellerApiKey(sellerId: $s) { apiKey } }`, { s: sellerA })).createSellerApiKey.apiKey;
    const url = platform().urls.gateway;
    const headers = { authorization: `Bearer ${sellerKey}` };
    const own = await rawGraphQL(url, { query: accountQuery, variables: { code: `seller_available:${sellerA}`, currency: 'USD' } }, headers);
    expect(own.json.errors).toBeUndefined();
    expect(own.json.data.ledgerAccount.balance.amountMinor).toBe((6_000n - feeA).toString());

    for (const code of [`seller_pending:${sellerB}`, 'psp_receivable', 'platform_fee_revenue']) {
      const theirs = await rawGraphQL(url, { query: accountQuery, variables: { code, currency: 'USD' } }, headers);
      expect(theirs.json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(theirs.json.data?.ledgerAccount ?? null).toBeNull();
    }
    const trial = await rawGraphQL(url, { query: `query { trialBalance(currency: "USD") { balanced } }` }, headers);
    expect(trial.json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const journal = await rawGraphQL(url, { query: `query { journalTransactions(first: 1) { edges { cursor } } }` }, headers);
    expect(journal.json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const audit = await rawGraphQL(url, { query: `query { audit { ok } }` }, headers);
    expect(audit.json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const ownWallet = await rawGraphQL(url, { query: sellerQuery, variables: { id: sellerA } }, headers);
    expect(ownWallet.json.data.seller.balances[0].available.amountMinor).toBe((6_000n - feeA).toString());
    const otherWallet = await rawGraphQL(url, { query: sellerQuery, variables: { id: sellerB } }, headers);
    expect(otherWallet.json.data?.seller ?? null).toBeNull();
    expect(otherWallet.json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('the ops audit checks the books and compares wallets with the ledger', async () => {
    const report = await eventually(async () => {
      const result = await rawGraphQL(
        platform().urls.gateway,
        {
          query: `query { audit { ok violations currencies { currency balanced } postingCounts { kind transactions distinctReferences }
                    sellerBalances { sellerId currency pendingMinor availableMinor inTransitMinor }
                    walletMatchesLedger walletMismatches { sellerId currency field walletMinor ledgerMinor } } }`,
        },
        { authorization: `Bearer ${opsKey()}` },
      );
      if (result.json.errors) throw new Error(JSON.stringify(result.json.errors));
      const audit = result.json.data.audit;
      const ourMismatches = audit.walletMismatches.filter((m: { sellerId: string }) => m.sellerId === sellerA || m.sellerId === sellerB);
      return ourMismatches.length === 0 ? audit : undefined;
    }, 'an audit where our sellers match');
    expect(report.ok).toBe(true);
    expect(report.violations).toEqual([]);
    expect(report.currencies.find((c: { currency: string }) => c.currency === 'USD')?.balanced).toBe(true);
    expect(report.sellerBalances).toContainEqual({ sellerId: sellerA, currency: 'USD', pendingMinor: '0', availableMinor: (6_000n - feeA).toString(), inTransitMinor: '0' });
    const platformAudit = await rawGraphQL(platform().urls.gateway, { query: `query { audit { ok } }` }, { authorization: `Bearer ${platformKey()}` });
    expect(platformAudit.json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('the audit still compares wallets with the ledger when the seller balances exceed 1 MiB', async () => {
    // The wallet receives every seller's ledger balances (~110 bytes each): 15,000 sellers make a
    // request of ~1.6 MB, over the 1 MiB every other endpoint accepts. Zero-balance seller accounts,
    // as a seller paid out in full has, with no wallet row (zero too).
    const tag = uniqueId('big').replace(/[^A-Za-z0-9_]/g, '_');
    const env = platform().env;
    const server = (env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432').replace(/\/+$/, '');
    const ledgerDb = new Client({ connectionString: `${server}/${env.DATABASE_PREFIX}_ledger` });
    await ledgerDb.connect();
    try {
      await ledgerDb.query(
        `INSERT INTO ledger_accounts (id, code, currency, type, normal_balance)
         SELECT gen_random_uuid(), 'seller_available:' || $1 || '_' || i, 'USD', 'LIABILITY', 'CREDIT' FROM generate_series(1, 15000) AS i`,
        [tag],
      );
    } finally {
      await ledgerDb.end();
    }
    const result = await rawGraphQL(
      platform().urls.gateway,
      { query: `query { audit { sellerBalances { sellerId } walletMismatches { sellerId } } }` },
      { authorization: `Bearer ${opsKey()}` },
    );
    expect(result.json.errors).toBeUndefined();
    const ours = (rows: { sellerId: string }[]) => rows.filter((row) => row.sellerId.startsWith(`${tag}_`)).length;
    expect(ours(result.json.data.audit.sellerBalances)).toBe(15_000);
    expect(ours(result.json.data.audit.walletMismatches)).toBe(0);
  });
});

describe('a real checkout reaches the ledger and the wallet', () => {
  test('payment.succeeded from the payments flow is posted once; Payment.ledgerTransactions shows it', async () => {
    const sellerId = uniqueId('seller');
    const created = await createCheckout(checkoutInput({ orders: [{ sellerId, amountMinor: '2500' }] }));
    await payOnHostedPage(created.checkoutUrl!, CARDS.success);
    await waitForStatus(created.id, 'SUCCEEDED');
    const query = `query($id: ID!) { payment(id: $id) { id ledgerTransactions { reference kind entries { accountCode direction amount { amountMinor } } } } }`;
    const platformClient = client(platformKey());
    const payment = await eventually(async () => {
      const result = await platformClient.request<{ payment: { ledgerTransactions: { reference: string; kind: string; entries: { accountCode: string; amount: { amountMinor: string } }[] }[] } }>(query, { id: created.id });
      return result.payment.ledgerTransactions.length > 0 ? result.payment : undefined;
    }, 'the ledger posting of the checkout');
    expect(payment.ledgerTransactions.map((t) => t.reference)).toEqual([`payment_succeeded:${created.id}`]);
    const debit = payment.ledgerTransactions[0]?.entries.find((entry) => entry.accountCode === 'psp_receivable');
    expect(debit?.amount.amountMinor).toBe('2500');
    const wallet = await eventually(async () => (await platformClient.request<SellerResult>(sellerQuery, { id: sellerId })).seller?.balances[0], 'the wallet');
    expect(BigInt(wallet.pending.amountMinor)).toBe(2500n - computeFee(2500n, FEES));

    const sellerKey = (await platformClient.request<{ createSellerApiKey: { apiKey: string } }>(`mutation($s: ID!) { createSellerApiKey(sellerId: $s) { apiKey } }`, { s: sellerId })).createSellerApiKey.apiKey;
    const asSeller = await rawGraphQL(platform().urls.gateway, { query, variables: { id: created.id } }, { authorization: `Bearer ${sellerKey}` });
    // The journal is finance data: a seller key sees its payment but no ledger transactions.
    expect(asSeller.json.data?.payment?.ledgerTransactions ?? []).toEqual([]);
  });
});
