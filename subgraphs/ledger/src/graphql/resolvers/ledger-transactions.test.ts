// Payment.ledgerTransactions as the gateway asks for it: one `_entities` request for a page of
// payments, on the ledger's real schema and resolvers and a fresh ledger database. The payments'
// transactions come back per payment, in order, and in two statements however many payments.
import { createLogger, createPgDatabase, createSubgraphServer, subgraphTypeDefs, type Caller, type PgDatabase, type SqlClient } from '@clearhouse/shared';
import { countingDatabase, createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { postTransaction } from '../../application/post-transaction.js';
import { SCHEMA_FILE } from '../../app.js';
import { AT, paymentSucceeded } from '../../domain/builders.test-support.js';
import { postOrderDelivered, postPaymentSucceeded, type JournalTransactionDraft } from '../../domain/index.js';
import { parseLedgerEnv } from '../../env.js';
import type { LedgerPrisma } from '../../persistence/prisma.js';
import { createLedgerLoaders, type LedgerContext } from '../context.js';
import { resolvers } from './index.js';

jest.setTimeout(60_000);

const logger = createLogger({ service: 'ledger-transactions-test', level: 'silent' });
const FINANCE: Caller = { role: 'platform', keyId: 'platform_1', sellerId: null };
const SELLER: Caller = { role: 'seller', keyId: 'seller_key_1', sellerId: 'seller_0' };
const PAYMENTS = 30;

let database: TestDatabase;
let db: PgDatabase;
let server: ReturnType<typeof createSubgraphServer<LedgerContext>>;

function must(result: ReturnType<typeof postPaymentSucceeded> | ReturnType<typeof postOrderDelivered>): JournalTransactionDraft {
  if (result.kind !== 'post') throw new Error(`expected a posting, got ${result.kind}`);
  return result.transaction;
}

beforeAll(async () => {
  database = await createTestDatabase('ledger');
  db = createPgDatabase(database.url, { poolMax: 4 });
  server = createSubgraphServer<LedgerContext>({ typeDefs: subgraphTypeDefs(SCHEMA_FILE), resolvers, production: false });
  await server.start();
  // Payment i: its pay-in, and for even i the delivery of its order too (two transactions).
  for (let index = 0; index < PAYMENTS; index++) {
    const event = { ...paymentSucceeded([{ sellerId: `seller_${index}`, amountMinor: BigInt(1_000 + index) }], { paymentId: `pay_${index}` }), succeededAt: AT };
    await postTransaction(db, must(postPaymentSucceeded(event)));
    if (index % 2 === 0) {
      const order = event.orders[0]!;
      const delivered = postOrderDelivered({
        paymentId: event.paymentId,
        paymentOrderId: order.paymentOrderId,
        sellerId: order.sellerId,
        currency: event.currency,
        netAmountMinor: order.netAmountMinor,
        deliveredAt: new Date(AT.getTime() + 60_000),
      });
      await postTransaction(db, must(delivered));
    }
  }
});

afterAll(async () => {
  await server.stop();
  await db.end();
  await database.drop();
});

const ENTITIES = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Payment { id ledgerTransactions { reference kind entries { accountCode direction amount { amountMinor } } } } } }`;

async function entities(caller: Caller, ids: readonly string[], client: SqlClient) {
  const env = parseLedgerEnv({ NODE_ENV: 'test' });
  const contextValue = { caller, correlationId: 'test', logger, prisma: undefined as unknown as LedgerPrisma, db: client, loaders: createLedgerLoaders(client), env };
  const response = await server.executeOperation({ query: ENTITIES, variables: { representations: ids.map((id) => ({ __typename: 'Payment', id })) } }, { contextValue });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  const { data, errors } = response.body.singleResult as { data?: { _entities: { id: string; ledgerTransactions: { reference: string; kind: string; entries: unknown[] }[] }[] }; errors?: unknown };
  expect(errors).toBeUndefined();
  return data!._entities;
}

test('a page of payments gets each payment its own transactions, oldest first, in two statements', async () => {
  const ids = [...Array.from({ length: PAYMENTS }, (_, index) => `pay_${index}`), 'pay_unknown', 'pay_3'];
  const client = countingDatabase(db);
  const result = await entities(FINANCE, ids, client);
  expect(result.map((payment) => payment.id)).toEqual(ids);
  for (const [index, payment] of result.entries()) {
    const id = ids[index]!;
    if (id === 'pay_unknown') {
      expect(payment.ledgerTransactions).toEqual([]);
      continue;
    }
    const number = Number(id.slice('pay_'.length));
    const expected = [`payment_succeeded:${id}`, ...(number % 2 === 0 ? [`order_delivered:${id}_po_0`] : [])];
    expect(payment.ledgerTransactions.map((transaction) => transaction.reference)).toEqual(expected);
    for (const transaction of payment.ledgerTransactions) expect(transaction.entries.length).toBeGreaterThanOrEqual(2);
  }
  // One read of the transactions and one of their entries, instead of two per payment.
  expect(client.reads).toBe(2);

  // The same answer as asking for each payment alone.
  for (const id of ['pay_0', 'pay_7']) {
    const [alone] = await entities(FINANCE, [id], db);
    expect(alone).toEqual(result[ids.indexOf(id)]);
  }
});

test('a seller key gets empty lists and costs no statement', async () => {
  const client = countingDatabase(db);
  const result = await entities(SELLER, ['pay_0', 'pay_1'], client);
  expect(result.map((payment) => payment.ledgerTransactions)).toEqual([[], []]);
  expect(client.reads).toBe(0);
});
