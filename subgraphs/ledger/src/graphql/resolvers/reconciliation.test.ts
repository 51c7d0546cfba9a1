// The reconciliation GraphQL surface on the ledger's real schema and resolvers (Apollo's
// executeOperation), a fresh ledger database and an in-process simulator: runReconciliation
// (ops, idempotent), the queue with filters and access, resolveDiscrepancy.
import { randomBytes } from 'node:crypto';
import { createLogger, createPgAdapter, createSubgraphServer, subgraphTypeDefs, type Caller } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { SCHEMA_FILE } from '../../app.js';
import { parseLedgerEnv } from '../../env.js';
import { PrismaClient } from '../../generated/prisma/client.js';
import { setSimulatorFaults } from '../../reconciliation/application/world.test-support.js';
import { createLedgerLoaders, type LedgerContext } from '../context.js';
import { resolvers } from './index.js';

jest.setTimeout(120_000);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorModule = require('../../../../../psp-simulator/src/server.ts') as { startSimulator(options: Record<string, unknown>): Promise<{ url: string; stop(): Promise<void> }> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorDb = require('../../../../../psp-simulator/src/store/db.ts') as { dropDatabase(url: string): Promise<void> };

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const logger = createLogger({ service: 'ledger-graphql-test', level: 'silent' });
const OPS: Caller = { role: 'ops', keyId: 'ops_1', sellerId: null };
const PLATFORM: Caller = { role: 'platform', keyId: 'platform_1', sellerId: null };
const SELLER: Caller = { role: 'seller', keyId: 'seller_key_1', sellerId: 'seller_1' };

let database: TestDatabase;
let prisma: PrismaClient;
let simulator: { url: string; stop(): Promise<void> };
let simulatorDatabaseUrl: string;
let server: ReturnType<typeof createSubgraphServer<LedgerContext>>;
let env: ReturnType<typeof parseLedgerEnv>;

beforeAll(async () => {
  database = await createTestDatabase('ledger');
  prisma = new PrismaClient({ adapter: createPgAdapter(database.url, { poolMax: 5 }) });
  simulatorDatabaseUrl = `${POSTGRES_URL}/clearhouse_test_psp_${randomBytes(6).toString('hex')}`;
  simulator = await simulatorModule.startSimulator({ port: 0, host: '127.0.0.1', databaseUrl: simulatorDatabaseUrl, webhookUrl: 'http://127.0.0.1:9/x', webhookSecret: 'whsec_t', logLevel: 'silent' });
  env = parseLedgerEnv({ NODE_ENV: 'test', STRIPE_API_BASE: simulator.url, PAYMENTS_URL: 'http://127.0.0.1:9/graphql', RECONCILIATION_REPLAY_TIMEOUT_MS: '500' });
  server = createSubgraphServer<LedgerContext>({ typeDefs: subgraphTypeDefs(SCHEMA_FILE), resolvers, production: false });
  await server.start();
});

afterAll(async () => {
  await server.stop();
  await simulator.stop();
  await simulatorDb.dropDatabase(simulatorDatabaseUrl).catch(() => undefined);
  await prisma.$disconnect();
  await database.drop();
});

async function execute(caller: Caller, query: string, variables: Record<string, unknown> = {}) {
  const response = await server.executeOperation({ query, variables }, { contextValue: { caller, correlationId: 'test', logger, prisma, db: prisma, loaders: createLedgerLoaders(prisma), env } });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads arbitrary result shapes
  return response.body.singleResult as { data?: Record<string, any>; errors?: { extensions?: { code?: string } }[] };
}

const RUN = `mutation($input: RunReconciliationInput!) { runReconciliation(input: $input) { replayed userErrors { code message } run { id date status source lineCount matchedCount attempts fixes { type } discrepancies { id kind category status pspReference actual { amountMinor currency } } } } }`;
const QUEUE = `query($category: DiscrepancyCategory, $status: DiscrepancyStatus, $first: Int, $after: String) { discrepancies(category: $category, status: $status, first: $first, after: $after) { edges { cursor node { id kind category status pspReference rule resolvedBy resolutionNote } } pageInfo { hasNextPage endCursor } } }`;
const RESOLVE = `mutation($input: ResolveDiscrepancyInput!) { resolveDiscrepancy(input: $input) { replayed userErrors { code } discrepancy { id status resolvedBy resolutionNote note } } }`;

test('run, list, page, resolve; access by role', async () => {
  const today = new Date().toISOString().slice(0, 10);
  for (const amount of [-111, -222]) {
    const response = await fetch(`${simulator.url}/__admin/adjustments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount, currency: 'usd' }) });
    expect(response.status).toBe(200);
  }
  const forbidden = await execute(PLATFORM, RUN, { input: { idempotencyKey: 'k1', date: today } });
  expect(forbidden.data?.runReconciliation.userErrors).toEqual([expect.objectContaining({ code: 'FORBIDDEN' })]);

  const first = await execute(OPS, RUN, { input: { idempotencyKey: 'k1', date: today } });
  expect(first.errors).toBeUndefined();
  const payload = first.data!.runReconciliation;
  expect(payload).toMatchObject({ replayed: false, userErrors: [], run: { date: today, status: 'COMPLETED', source: 'API', lineCount: 2, matchedCount: 0, attempts: 1 } });
  expect(payload.run.discrepancies.map((row: { category: string; actual: { amountMinor: string } }) => [row.category, row.actual.amountMinor]).sort()).toEqual([
    ['UNCLASSIFIED', '-111'],
    ['UNCLASSIFIED', '-222'],
  ]);
  const replayed = await execute(OPS, RUN, { input: { idempotencyKey: 'k1', date: today } });
  expect(replayed.data!.runReconciliation).toMatchObject({ replayed: true, run: { id: payload.run.id, attempts: 1 } });
  const csv = await execute(OPS, RUN, { input: { idempotencyKey: 'k2', date: today, source: 'CSV' } });
  expect(csv.data!.runReconciliation.run).toMatchObject({ source: 'CSV', lineCount: 2 });
  expect(csv.data!.runReconciliation.run.discrepancies).toHaveLength(2);
  const badDate = await execute(OPS, RUN, { input: { idempotencyKey: 'k3', date: '2026-13-40' } });
  expect(badDate.data!.runReconciliation.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_INPUT' })]);

  const sellerQueue = await execute(SELLER, QUEUE, { first: 10 });
  expect(sellerQueue.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const page1 = await execute(PLATFORM, QUEUE, { category: 'UNCLASSIFIED', status: 'OPEN', first: 1 });
  expect(page1.data!.discrepancies.edges).toHaveLength(1);
  expect(page1.data!.discrepancies.pageInfo.hasNextPage).toBe(true);
  const page2 = await execute(PLATFORM, QUEUE, { category: 'UNCLASSIFIED', status: 'OPEN', first: 1, after: page1.data!.discrepancies.pageInfo.endCursor });
  expect(page2.data!.discrepancies.edges).toHaveLength(1);
  expect(page2.data!.discrepancies.pageInfo.hasNextPage).toBe(false);
  expect(page2.data!.discrepancies.edges[0].node.id).not.toBe(page1.data!.discrepancies.edges[0].node.id);
  const none = await execute(OPS, QUEUE, { category: 'AUTO_FIXED', first: 10 });
  expect(none.data!.discrepancies.edges).toEqual([]);

  const target = page1.data!.discrepancies.edges[0].node.id as string;
  const input = { idempotencyKey: 'r1', discrepancyId: target, note: 'PSP test adjustment; nothing to book' };
  expect((await execute(PLATFORM, RESOLVE, { input })).data!.resolveDiscrepancy.userErrors).toEqual([{ code: 'FORBIDDEN' }]);
  const resolved = await execute(OPS, RESOLVE, { input });
  expect(resolved.data!.resolveDiscrepancy).toMatchObject({ replayed: false, userErrors: [], discrepancy: { id: target, status: 'RESOLVED', resolvedBy: 'ops_1', resolutionNote: input.note } });
  expect((await execute(OPS, RESOLVE, { input })).data!.resolveDiscrepancy.replayed).toBe(true);
  expect((await execute(OPS, RESOLVE, { input: { ...input, idempotencyKey: 'r2' } })).data!.resolveDiscrepancy.userErrors).toEqual([{ code: 'INVALID_STATE' }]);
  expect((await execute(OPS, RESOLVE, { input: { ...input, idempotencyKey: 'r3', note: '   ' } })).data!.resolveDiscrepancy.userErrors).toEqual([{ code: 'INVALID_INPUT' }]);
  const open = await execute(OPS, QUEUE, { status: 'OPEN', first: 10 });
  expect(open.data!.discrepancies.edges).toHaveLength(1);

  const byId = await execute(PLATFORM, `query($id: ID!) { reconciliationRun(id: $id) { id status discrepancies { id status } } }`, { id: payload.run.id });
  expect(byId.data!.reconciliationRun.discrepancies).toHaveLength(2);
  expect((await execute(SELLER, `query($id: ID!) { reconciliationRun(id: $id) { id } }`, { id: payload.run.id })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
});

test('a re-run of a completed day the PSP cannot answer: PSP_UNAVAILABLE, the completed run stays readable', async () => {
  const today = new Date().toISOString().slice(0, 10);
  const completed = (await execute(OPS, RUN, { input: { idempotencyKey: 'rerun-1', date: today } })).data!.runReconciliation;
  expect(completed).toMatchObject({ userErrors: [], run: { status: 'COMPLETED', source: 'API' } });
  await setSimulatorFaults(simulator.url, { apiErrorRate: 1 });
  try {
    const failed = (await execute(OPS, RUN, { input: { idempotencyKey: 'rerun-2', date: today } })).data!.runReconciliation;
    expect(failed.userErrors).toEqual([expect.objectContaining({ code: 'PSP_UNAVAILABLE' })]);
    const { attempts, ...before } = completed.run;
    expect(failed.run).toEqual({ ...before, attempts: attempts + 1 });
  } finally {
    await setSimulatorFaults(simulator.url, null);
  }
  const byId = await execute(PLATFORM, `query($id: ID!) { reconciliationRun(id: $id) { status lineCount error discrepancies { id } } }`, { id: completed.run.id });
  expect(byId.data!.reconciliationRun).toMatchObject({ status: 'COMPLETED', lineCount: completed.run.lineCount, error: expect.stringMatching(/failed: balance transactions API/) });
  expect(byId.data!.reconciliationRun.discrepancies).toHaveLength(completed.run.discrepancies.length);
});
