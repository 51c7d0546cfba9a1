// The nightly reconciliation finds the postings that name a day's PSP ids through the journal's
// indexes: on a journal of realistic size, no look-up by PSP id scans journal_transactions (nor
// the look-up of a failed refund's refund_reversed).
import { createPgDatabase, type PgDatabase, type SqlClient } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import type { PspLine } from '../domain/types.js';
import { loadLedgerForDay } from './reconciliation-store.js';

jest.setTimeout(120_000);

const POSTINGS = 100_000;
const DAY_START = new Date('2026-10-05T00:00:00Z');
const DAY_END = new Date('2026-10-06T00:00:00Z');

let database: TestDatabase;
let pg: PgDatabase;

/** Kind of the synthetic posting number g: mostly payments, then refunds, fees, payouts, disputes. */
const KIND_OF = `CASE WHEN g % 20 = 0 THEN 'refund_succeeded' WHEN g % 20 = 1 THEN 'psp_fee_booked' WHEN g % 200 = 2 THEN 'payout_paid'
                      WHEN g % 500 = 3 THEN 'dispute_opened' ELSE 'payment_succeeded' END`;

beforeAll(async () => {
  database = await createTestDatabase('ledger');
  pg = createPgDatabase(database.url, { poolMax: 2 });
  await pg.$transaction(async (tx) => {
    // Journal rows without entries, spread over 60 days: the ledger's own triggers (balanced
    // entries at commit) would refuse them, and the look-ups read only journal_transactions.
    await tx.$executeRawUnsafe('SET LOCAL session_replication_role = replica');
    await tx.$executeRawUnsafe(
      `INSERT INTO journal_transactions (id, reference, kind, effective_at, metadata, correlation_id)
       SELECT gen_random_uuid(), k.kind || ':' || g, k.kind, timestamptz '2026-09-01T12:00:00Z' + (g % 60) * interval '1 day',
              CASE k.kind
                WHEN 'payment_succeeded' THEN jsonb_build_object('pspPaymentIntentId', 'pi_' || g, 'pspChargeId', 'ch_' || g)
                WHEN 'refund_succeeded' THEN jsonb_build_object('pspRefundId', 're_' || g)
                WHEN 'psp_fee_booked' THEN jsonb_build_object('sourceId', 'ch_fee_' || g)
                WHEN 'payout_paid' THEN jsonb_build_object('pspPayoutId', 'po_' || g)
                ELSE jsonb_build_object('pspDisputeId', 'dp_' || g, 'disputeId', 'dis_' || g)
              END,
              'pay_' || g
         FROM generate_series(1, $1::int) AS g, LATERAL (SELECT ${KIND_OF} AS kind) AS k`,
      POSTINGS,
    );
    // Every other refund failed at the PSP after it succeeded: its refund_reversed reverses it.
    await tx.$executeRawUnsafe(
      `INSERT INTO journal_transactions (id, reference, kind, effective_at, metadata, correlation_id, reverses_transaction_id)
       SELECT gen_random_uuid(), 'refund_reversed:' || split_part(reference, ':', 2), 'refund_reversed', effective_at, metadata, correlation_id, id
         FROM journal_transactions WHERE kind = 'refund_succeeded' AND split_part(reference, ':', 2)::int % 40 = 0`,
    );
    // 100,000 rows with their indexes: seconds on a busy CI machine, past the default timeout.
  }, { timeout: 60_000 });
  await pg.$executeRawUnsafe('ANALYZE journal_transactions');
});

afterAll(async () => {
  await pg?.end();
  await database?.drop();
});

interface Plan {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: Plan[];
}

function nodesOf(plan: Plan): Plan[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

interface Sent {
  query: string;
  nodes: Plan[];
  rows: unknown[];
}

/** `inner`, also asking PostgreSQL for the plan of every query it sends (same parameters), and keeping the rows. */
function explaining(inner: SqlClient, sent: Sent[]): SqlClient {
  return {
    $executeRawUnsafe: (query, ...values) => inner.$executeRawUnsafe(query, ...values),
    async $queryRawUnsafe<T>(query: string, ...values: unknown[]) {
      const [row] = await inner.$queryRawUnsafe<{ 'QUERY PLAN': { Plan: Plan }[] }[]>(`EXPLAIN (FORMAT JSON) ${query}`, ...values);
      const root = row?.['QUERY PLAN'][0]?.Plan;
      const rows = await inner.$queryRawUnsafe<T>(query, ...values);
      sent.push({ query, nodes: root ? nodesOf(root) : [], rows: Array.isArray(rows) ? rows : [] });
      return rows;
    },
  };
}

function line(id: number, sourceId: string, paymentIntentId: string | null, type: string): PspLine {
  return {
    balanceTransactionId: `txn_${id}`,
    createdAt: DAY_START,
    availableOn: null,
    currency: 'USD',
    grossMinor: 1000n,
    feeMinor: 59n,
    netMinor: 941n,
    type,
    reportingCategory: type,
    sourceId,
    paymentIntentId,
    description: null,
  };
}

test('a day of PSP lines finds its postings through indexes, without scanning the journal', async () => {
  // Charges, refunds and payouts of postings made on other days (late lines, refunds of old
  // payments): a selective look-up, which a journal of any size should answer from its indexes.
  const charges = Array.from({ length: 40 }, (_, i) => 7 + i * 40).filter((g) => g % 20 > 1 && g % 200 !== 2 && g % 500 !== 3);
  const refunds = Array.from({ length: 10 }, (_, i) => 20 * (i + 100));
  const payouts = Array.from({ length: 5 }, (_, i) => 200 * (i + 10) + 2);
  const lines = [
    ...charges.map((g) => line(g, `ch_${g}`, `pi_${g}`, 'charge')),
    ...refunds.map((g) => line(g, `re_${g}`, null, 'refund')),
    ...payouts.map((g) => line(g, `po_${g}`, null, 'payout')),
  ];
  const sent: Sent[] = [];
  await loadLedgerForDay(explaining(pg, sent), lines, DAY_START, DAY_END);

  // The look-ups by PSP id found exactly the postings the lines name (the journal rows here have
  // no entries, so the views built from them afterwards are empty; the ids are what counts).
  const byPspId = sent.filter((query) => query.query.includes("metadata->>'pspPaymentIntentId'"));
  expect(byPspId.length).toBeGreaterThan(0);
  const ids = byPspId.flatMap((query) => query.rows as { id: string }[]).map((row) => row.id);
  const found = await pg.$queryRawUnsafe<{ reference: string }[]>('SELECT reference FROM journal_transactions WHERE id = ANY($1::uuid[])', ids);
  const expected = [...charges.map((g) => `payment_succeeded:${g}`), ...refunds.map((g) => `refund_succeeded:${g}`), ...payouts.map((g) => `payout_paid:${g}`)];
  expect(found.map((row) => row.reference).sort()).toEqual(expected.sort());

  const scans = byPspId.flatMap((query) => query.nodes).filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'journal_transactions');
  expect(scans.map((node) => `${node['Node Type']} on ${node['Relation Name']}`)).toEqual([]);

  // The refunds that failed later: their refund_reversed, found through the refund_succeeded it reverses.
  const byReversal = sent.filter((query) => query.query.includes("t.kind = 'refund_reversed'") && query.query.includes('ANY($1::text[])'));
  expect(byReversal.length).toBeGreaterThan(0);
  const reversalIds = byReversal.flatMap((query) => query.rows as { id: string }[]).map((row) => row.id);
  const reversals = await pg.$queryRawUnsafe<{ reference: string }[]>('SELECT reference FROM journal_transactions WHERE id = ANY($1::uuid[])', reversalIds);
  expect(reversals.map((row) => row.reference).sort()).toEqual(refunds.filter((g) => g % 40 === 0).map((g) => `refund_reversed:${g}`).sort());
  const reversalScans = byReversal.flatMap((query) => query.nodes).filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'journal_transactions');
  expect(reversalScans.map((node) => `${node['Node Type']} on ${node['Relation Name']}`)).toEqual([]);
});
