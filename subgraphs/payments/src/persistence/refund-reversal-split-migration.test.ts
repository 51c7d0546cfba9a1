// The migration 20261203194900_refund_reversal_split on a database holding refunds written before
// it: a refund reversed earlier gets the split its refund.reversed timeline entry recorded, every
// other refund none; afterwards refunds_reversal_split keeps a split whole and on reversed refunds only.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations, findPrismaRoot, listMigrations, withPgClient } from '@clearhouse/shared';
import { createEmptyTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';

jest.setTimeout(120_000);

const MIGRATIONS_DIR = join(findPrismaRoot(__dirname), 'payments', 'migrations');
const NEW_MIGRATION = '20261203194900_refund_reversal_split';

let database: TestDatabase;
let before: string;

beforeAll(async () => {
  database = await createEmptyTestDatabase('payments_reversal_mig');
  before = mkdtempSync(join(tmpdir(), 'payments-migrations-'));
  cpSync(join(MIGRATIONS_DIR, 'migration_lock.toml'), join(before, 'migration_lock.toml'));
  for (const name of listMigrations(MIGRATIONS_DIR).filter((migration) => migration < NEW_MIGRATION)) cpSync(join(MIGRATIONS_DIR, name), join(before, name), { recursive: true });
  await applyMigrations({ databaseUrl: database.url, migrationsDir: before });
});

afterAll(async () => {
  rmSync(before, { recursive: true, force: true });
  await database?.drop();
});

type Split = { fee: string; pending: string; available: string };
const reversalTimeline = (refundId: string, split: Split) =>
  JSON.stringify({ refundId, paymentOrderId: 'ord_1', pspRefundId: `re_${refundId}`, failureReason: 'expired_or_canceled_card', feeRefundMinor: split.fee, pendingMinor: split.pending, availableMinor: split.available });

it('fills the reversal split of refunds reversed before it from their timeline, and only theirs', async () => {
  await withPgClient(database.url, async (client) => {
    await client.query(
      `INSERT INTO payments (id, status, buyer_id, currency, amount_minor, refunded_amount_minor, idempotency_caller_id, idempotency_key)
       VALUES ('pay_1', 'PARTIALLY_REFUNDED', 'b1', 'USD', 6000, 34, 'key_platform', 'k1')`,
    );
    await client.query(
      `INSERT INTO payment_orders (id, payment_id, position, seller_id, amount_minor, fee_minor, net_amount_minor, status, refunded_amount_minor, pending_held_minor)
       VALUES ('ord_1', 'pay_1', 0, 's0', 6000, 174, 5826, 'PARTIALLY_REFUNDED', 34, 5792)`,
    );
    // rf_reversed: its plan returned no fee, its reversal took the fee unit back (the pro rata case).
    // rf_corrupt: a timeline entry whose parts do not add up to the refund is not taken.
    await client.query(
      `INSERT INTO refunds (id, payment_id, payment_order_id, amount_minor, currency, status, psp_refund_id, failure_code, fee_refund_minor, pending_minor, available_minor, succeeded_at, failed_at) VALUES
         ('rf_reversed', 'pay_1', 'ord_1', 1, 'USD', 'FAILED', 're_1', 'expired_or_canceled_card', 0, 1, 0, now(), now()),
         ('rf_released', 'pay_1', 'ord_1', 1000, 'USD', 'FAILED', 're_2', 'expired_or_canceled_card', 29, 971, 0, now(), now()),
         ('rf_corrupt', 'pay_1', 'ord_1', 10, 'USD', 'FAILED', 're_3', 'expired_or_canceled_card', 0, 10, 0, now(), now()),
         ('rf_kept', 'pay_1', 'ord_1', 34, 'USD', 'SUCCEEDED', 're_4', NULL, 1, 33, 0, now(), NULL),
         ('rf_rejected', 'pay_1', 'ord_1', 5, 'USD', 'FAILED', NULL, 'amount_too_large', NULL, NULL, NULL, NULL, now()),
         ('rf_pending', 'pay_1', 'ord_1', 7, 'USD', 'PENDING', NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    const timeline = [
      ['rf_reversed', { fee: '1', pending: '0', available: '0' }],
      ['rf_released', { fee: '29', pending: '0', available: '971' }],
      ['rf_corrupt', { fee: '1', pending: '1', available: '1' }],
      // A refund.reversed entry about a refund that is not FAILED after SUCCEEDED is not taken either.
      ['rf_kept', { fee: '1', pending: '33', available: '0' }],
    ] as const;
    for (const [refundId, split] of timeline) {
      await client.query(`INSERT INTO timeline_events (id, payment_id, at, source, type, message, data) VALUES (gen_random_uuid(), 'pay_1', now(), 'payments', 'refund.reversed', 'reversed', $1::jsonb)`, [
        reversalTimeline(refundId, split),
      ]);
    }
  });

  const { applied } = await applyMigrations({ databaseUrl: database.url, migrationsDir: MIGRATIONS_DIR });
  expect(applied[0]).toBe(NEW_MIGRATION);

  await withPgClient(database.url, async (client) => {
    const rows = await client.query<{ id: string; fee: string | null; pending: string | null; available: string | null }>(
      `SELECT id, reversal_fee_refund_minor::text AS fee, reversal_pending_minor::text AS pending, reversal_available_minor::text AS available FROM refunds ORDER BY id`,
    );
    expect(rows.rows).toEqual([
      { id: 'rf_corrupt', fee: null, pending: null, available: null },
      { id: 'rf_kept', fee: null, pending: null, available: null },
      { id: 'rf_pending', fee: null, pending: null, available: null },
      { id: 'rf_rejected', fee: null, pending: null, available: null },
      { id: 'rf_released', fee: '29', pending: '0', available: '971' },
      { id: 'rf_reversed', fee: '1', pending: '0', available: '0' },
    ]);
  });
});

it('refunds_reversal_split: all three parts or none, adding up to the refund, on a refund that succeeded and then failed', async () => {
  await withPgClient(database.url, async (client) => {
    const setSplit = (id: string, fee: string | null, pending: string | null, available: string | null) =>
      client.query(`UPDATE refunds SET reversal_fee_refund_minor = $2::bigint, reversal_pending_minor = $3::bigint, reversal_available_minor = $4::bigint WHERE id = $1`, [id, fee, pending, available]);
    await expect(setSplit('rf_kept', '1', '33', '0')).rejects.toThrow(/refunds_reversal_split/);
    await expect(setSplit('rf_rejected', '0', '5', '0')).rejects.toThrow(/refunds_reversal_split/);
    await expect(setSplit('rf_corrupt', '1', '1', '1')).rejects.toThrow(/refunds_reversal_split/);
    await expect(setSplit('rf_corrupt', '0', '10', null)).rejects.toThrow(/refunds_reversal_split/);
    await expect(setSplit('rf_corrupt', '11', '-1', '0')).rejects.toThrow(/refunds_reversal_split/);
    // A reversed refund cannot go back to SUCCEEDED with its reversal on it.
    await expect(client.query(`UPDATE refunds SET status = 'SUCCEEDED' WHERE id = 'rf_reversed'`)).rejects.toThrow(/refunds_reversal_split/);
    const unchanged = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM refunds WHERE reversal_fee_refund_minor IS NOT NULL`);
    expect(unchanged.rows[0]?.n).toBe('2');
    await setSplit('rf_corrupt', '1', '9', '0');
    const fixed = await client.query<{ fee: string }>(`SELECT reversal_fee_refund_minor::text AS fee FROM refunds WHERE id = 'rf_corrupt'`);
    expect(fixed.rows[0]?.fee).toBe('1');
  });
});
