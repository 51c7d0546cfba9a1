// Bad query arguments get a clear, typed error (ARCHITECTURE.md "Security": "Bad input gets a
// clear, typed error"), not a masked internal error and not a silently different answer: on the
// ledger's real schema and resolvers and a fresh ledger database.
import { createLogger, createPgDatabase, createSubgraphServer, subgraphTypeDefs, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { postTransaction } from '../../application/post-transaction.js';
import { SCHEMA_FILE } from '../../app.js';
import { AT, paymentSucceeded } from '../../domain/builders.test-support.js';
import { postPaymentSucceeded } from '../../domain/index.js';
import { parseLedgerEnv } from '../../env.js';
import type { LedgerPrisma } from '../../persistence/prisma.js';
import { createLedgerLoaders, type LedgerContext } from '../context.js';
import { resolvers } from './index.js';

jest.setTimeout(60_000);

const logger = createLogger({ service: 'ledger-query-arguments-test', level: 'silent' });
const OPS: Caller = { role: 'ops', keyId: 'ops_1', sellerId: null };

let database: TestDatabase;
let db: PgDatabase;
let server: ReturnType<typeof createSubgraphServer<LedgerContext>>;

beforeAll(async () => {
  database = await createTestDatabase('ledger');
  db = createPgDatabase(database.url, { poolMax: 4 });
  server = createSubgraphServer<LedgerContext>({ typeDefs: subgraphTypeDefs(SCHEMA_FILE), resolvers, production: false });
  await server.start();
  for (const index of [1, 2, 3]) {
    const result = postPaymentSucceeded({ ...paymentSucceeded([{ sellerId: 'seller_q', amountMinor: 1_000n }], { paymentId: `pay_q_${index}` }), succeededAt: AT });
    if (result.kind !== 'post') throw new Error('expected a posting');
    await postTransaction(db, result.transaction);
  }
});

afterAll(async () => {
  await server.stop();
  await db.end();
  await database.drop();
});

async function execute(query: string, variables: Record<string, unknown> = {}) {
  const env = parseLedgerEnv({ NODE_ENV: 'test' });
  const contextValue = { caller: OPS, correlationId: 'test', logger, prisma: db as unknown as LedgerPrisma, db, loaders: createLedgerLoaders(db), env };
  const response = await server.executeOperation({ query, variables }, { contextValue });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads arbitrary result shapes
  return response.body.singleResult as { data?: Record<string, any> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

function expectBadInput(result: Awaited<ReturnType<typeof execute>>, message: RegExp): void {
  expect(result.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(message), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
}

const DISCREPANCIES = `query($date: String, $first: Int, $after: String) { discrepancies(date: $date, first: $first, after: $after) { edges { cursor } } }`;
const JOURNAL = `query($first: Int, $after: String, $kind: String) { journalTransactions(first: $first, after: $after, kind: $kind) { edges { cursor node { reference } } } }`;
const ENTRIES = `query($first: Int) { ledgerAccount(code: "seller_pending:seller_q", currency: "USD") { entries(first: $first) { edges { cursor } } } }`;

describe('the discrepancy queue', () => {
  it('answers a malformed date or cursor with BAD_USER_INPUT, not an internal error', async () => {
    expectBadInput(await execute(DISCREPANCIES, { date: '2026-02-30' }), /date/);
    expectBadInput(await execute(DISCREPANCIES, { after: 'not-a-cursor' }), /cursor/);
    expect((await execute(DISCREPANCIES, { date: '2026-02-28' })).errors).toBeUndefined();
  });
});

describe('page sizes and kinds', () => {
  it('rejects first outside 1..200 instead of answering another page size', async () => {
    for (const first of [0, -1, 201]) {
      expectBadInput(await execute(JOURNAL, { first }), /first/);
      expectBadInput(await execute(ENTRIES, { first }), /first/);
      expectBadInput(await execute(DISCREPANCIES, { first }), /first/);
    }
    expect((await execute(JOURNAL, { first: 2 })).data?.journalTransactions.edges).toHaveLength(2);
    expect((await execute(ENTRIES, { first: 200 })).errors).toBeUndefined();
  });

  it('rejects an unknown transaction kind instead of answering an empty page', async () => {
    expectBadInput(await execute(JOURNAL, { kind: 'payment_succeded' }), /kind/);
    expect((await execute(JOURNAL, { kind: 'payment_succeeded' })).data?.journalTransactions.edges).toHaveLength(3);
  });
});
