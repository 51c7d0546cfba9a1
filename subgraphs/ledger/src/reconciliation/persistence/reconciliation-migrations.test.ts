// The reconciliation migrations since 2026-12-05 on a database holding rows written before them:
// completed_at is filled from what the rows show (a day that completed once is COMPLETED again),
// each discrepancy gets its subject from its rule, under the wider key, and each PSP line the
// attempt that stored it (0: unknown; lower than any later attempt, which may withdraw it).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations, findPrismaRoot, listMigrations, withPgClient } from '@clearhouse/shared';
import { createEmptyTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';

jest.setTimeout(120_000);

const MIGRATIONS_DIR = join(findPrismaRoot(__dirname), 'ledger', 'migrations');
const NEW_MIGRATIONS = ['20261205100000_reconciliation_run_completed_at', '20261205100100_discrepancy_subject'];

let database: TestDatabase;
let before: string;

beforeAll(async () => {
  database = await createEmptyTestDatabase('ledger_recon_mig');
  before = mkdtempSync(join(tmpdir(), 'ledger-migrations-'));
  cpSync(join(MIGRATIONS_DIR, 'migration_lock.toml'), join(before, 'migration_lock.toml'));
  const older = listMigrations(MIGRATIONS_DIR).filter((name) => name < NEW_MIGRATIONS[0]!);
  for (const name of older) cpSync(join(MIGRATIONS_DIR, name), join(before, name), { recursive: true });
  await applyMigrations({ databaseUrl: database.url, migrationsDir: before });
});

afterAll(async () => {
  rmSync(before, { recursive: true, force: true });
  await database?.drop();
});

it('fills completed_at, subject and the lines\' attempt for the rows already there, and keys discrepancies by subject', async () => {
  const report = `'{"lines": 1}'::jsonb`;
  await withPgClient(database.url, async (client) => {
    await client.query(
      `INSERT INTO reconciliation_runs (id, date, source, status, attempts, report, error, started_at, finished_at) VALUES
         (gen_random_uuid(), '2026-01-01', 'api', 'COMPLETED', 1, ${report}, NULL, '2026-01-02T01:00:00Z', '2026-01-02T01:05:00Z'),
         (gen_random_uuid(), '2026-01-02', 'api', 'RUNNING', 2, ${report}, NULL, '2026-01-03T01:00:00Z', NULL),
         (gen_random_uuid(), '2026-01-03', 'api', 'FAILED', 3, ${report}, 'PSP down', '2026-01-04T01:00:00Z', '2026-01-04T01:02:00Z'),
         (gen_random_uuid(), '2026-01-04', 'api', 'FAILED', 1, '{}'::jsonb, 'PSP down', '2026-01-05T01:00:00Z', '2026-01-05T01:02:00Z'),
         (gen_random_uuid(), '2026-01-05', 'api', 'RUNNING', 1, '{}'::jsonb, NULL, '2026-01-06T01:00:00Z', NULL)`,
    );
    await client.query(
      `INSERT INTO discrepancies (id, date, kind, category, status, psp_reference, rule, first_run_id, last_run_id)
       SELECT gen_random_uuid(), '2026-01-01', d.kind, 'MANUAL_REVIEW', 'OPEN', d.ref, d.rule, gen_random_uuid(), gen_random_uuid()
         FROM (VALUES ('MISSING_IN_LEDGER', 're_1', 'refund.missing_in_ledger'), ('AMOUNT_MISMATCH', 're_1', 'refund_failure.amount_differs'),
                      ('MISSING_IN_LEDGER', 're_2', 'refund_failure.missing_in_ledger.resynced'), ('MISSING_IN_LEDGER', 'txn_3', 'line.unknown_category'),
                      ('MISSING_AT_PSP', 're_4', 'refund_succeeded.missing_at_psp'), ('FEE_MISMATCH', 'pi_5', 'charge.fee_differs_from_schedule')) AS d(kind, ref, rule)`,
    );
    await client.query(
      `INSERT INTO psp_settlement_lines (balance_transaction_id, date, source, run_id, created_at, currency, gross_minor, fee_minor, net_minor, type, reporting_category)
       SELECT 'txn_legacy_1', date, source, id, '2026-01-01T10:00:00Z', 'USD', 1000, 59, 941, 'charge', 'charge' FROM reconciliation_runs WHERE date = '2026-01-01'`,
    );
  });

  const { applied } = await applyMigrations({ databaseUrl: database.url, migrationsDir: MIGRATIONS_DIR });
  expect(applied).toEqual(listMigrations(MIGRATIONS_DIR).filter((name) => name >= NEW_MIGRATIONS[0]!));
  expect(applied.slice(0, 2)).toEqual(NEW_MIGRATIONS);

  await withPgClient(database.url, async (client) => {
    const runs = await client.query<{ date: string; status: string; error: string | null; completed: string | null; finished: string | null }>(
      `SELECT date, status, error, to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') AS completed, to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') AS finished
         FROM reconciliation_runs ORDER BY date`,
    );
    expect(runs.rows).toEqual([
      { date: '2026-01-01', status: 'COMPLETED', error: null, completed: '2026-01-02T01:05', finished: '2026-01-02T01:05' },
      // A re-run of a completed day in flight (or dead): its completion precedes its start.
      { date: '2026-01-02', status: 'RUNNING', error: null, completed: '2026-01-03T01:00', finished: null },
      // Completed once (its report), then turned FAILED by an attempt that had taken over a dead one.
      { date: '2026-01-03', status: 'COMPLETED', error: 'PSP down', completed: '2026-01-04T01:00', finished: '2026-01-04T01:00' },
      { date: '2026-01-04', status: 'FAILED', error: 'PSP down', completed: null, finished: '2026-01-05T01:02' },
      { date: '2026-01-05', status: 'RUNNING', error: null, completed: null, finished: null },
    ]);

    const subjects = await client.query<{ rule: string; subject: string }>(`SELECT rule, subject FROM discrepancies ORDER BY rule`);
    expect(subjects.rows).toEqual([
      { rule: 'charge.fee_differs_from_schedule', subject: 'charge' },
      { rule: 'line.unknown_category', subject: 'unknown' },
      { rule: 'refund.missing_in_ledger', subject: 'refund' },
      { rule: 'refund_failure.amount_differs', subject: 'refund_failure' },
      { rule: 'refund_failure.missing_in_ledger.resynced', subject: 'refund_failure' },
      { rule: 'refund_succeeded.missing_at_psp', subject: 'refund_succeeded' },
    ]);

    // The refund_failure line of re_1 missing too: a discrepancy of its own; the same one again is refused.
    const insert = `INSERT INTO discrepancies (id, date, kind, subject, category, status, psp_reference, rule, first_run_id, last_run_id)
                    VALUES (gen_random_uuid(), '2026-01-01', 'MISSING_IN_LEDGER', 'refund_failure', 'MANUAL_REVIEW', 'OPEN', 're_1', 'refund_failure.missing_in_ledger', gen_random_uuid(), gen_random_uuid())`;
    await client.query(insert);
    await expect(client.query(insert)).rejects.toThrow(/discrepancies_date_kind_subject_psp_reference_key/);
    const count = await client.query<{ n: string }>(`SELECT count(*) AS n FROM discrepancies WHERE psp_reference = 're_1'`);
    expect(count.rows[0]?.n).toBe('3');

    const lines = await client.query<{ attempt: number; withdrawn_at: Date | null }>(`SELECT attempt, withdrawn_at FROM psp_settlement_lines`);
    expect(lines.rows).toEqual([{ attempt: 0, withdrawn_at: null }]);
    // Every line stored from now on names its attempt.
    await expect(
      client.query(
        `INSERT INTO psp_settlement_lines (balance_transaction_id, date, source, run_id, created_at, currency, gross_minor, fee_minor, net_minor, type, reporting_category)
         VALUES ('txn_new_1', '2026-01-01', 'api', gen_random_uuid(), now(), 'USD', 1, 0, 1, 'charge', 'charge')`,
      ),
    ).rejects.toThrow(/null value in column "attempt"/);
  });
});
