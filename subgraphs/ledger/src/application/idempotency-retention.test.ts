// Retention of the ledger's idempotency keys, on a fresh ledger database and a real PSP simulator
// (the keys come from resolving real discrepancies): keys older than the retention are deleted,
// younger ones stay and still replay; journal transactions and reconciliation rows never go.
import { cleanupExpiredIdempotencyKeys, createLogger, EnvError } from '@clearhouse/shared';
import { parseLedgerEnv } from '../env.js';
import { utcDayOf } from '../reconciliation/domain/day.js';
import { pspDayLoader } from '../reconciliation/ingestion/sources.js';
import { resolveDiscrepancy } from '../reconciliation/application/resolve-discrepancy.js';
import { runReconciliation } from '../reconciliation/application/run-reconciliation.js';
import { OPS, startReconciliationWorld, type ReconciliationWorld } from '../reconciliation/application/world.test-support.js';

jest.setTimeout(120_000);

const HOUR_MS = 3_600_000;
const logger = createLogger({ service: 'ledger-cleanup-test', level: 'silent' });

let world: ReconciliationWorld;

beforeAll(async () => {
  world = await startReconciliationWorld();
});

afterAll(async () => {
  await world?.stop();
});

async function count(table: string): Promise<number> {
  const rows = await world.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0n);
}

async function keys(): Promise<string[]> {
  const rows = await world.prisma.$queryRawUnsafe<{ key: string }[]>(`SELECT key FROM idempotency_keys ORDER BY key`);
  return rows.map((row) => row.key);
}

describe('ledger idempotency key retention', () => {
  it('reads IDEMPOTENCY_KEY_RETENTION_MS (default 24 h, never less) and CLEANUP_INTERVAL_MS', () => {
    expect(parseLedgerEnv({ NODE_ENV: 'test' })).toMatchObject({ IDEMPOTENCY_KEY_RETENTION_MS: 24 * HOUR_MS, CLEANUP_INTERVAL_MS: HOUR_MS });
    expect(parseLedgerEnv({ NODE_ENV: 'test', IDEMPOTENCY_KEY_RETENTION_MS: '72h' }).IDEMPOTENCY_KEY_RETENTION_MS).toBe(72 * HOUR_MS);
    expect(() => parseLedgerEnv({ NODE_ENV: 'test', IDEMPOTENCY_KEY_RETENTION_MS: '1h' })).toThrow(EnvError);
  });

  it('deletes keys older than the retention, keeps younger ones (which still replay) and never touches the ledger', async () => {
    for (const amount of [-111, -222, -333]) {
      const response = await fetch(`${world.simulatorUrl}/__admin/adjustments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount, currency: 'usd' }) });
      expect(response.status).toBe(200);
    }
    const day = utcDayOf(new Date());
    const run = await runReconciliation(world.deps, day, pspDayLoader({ kind: 'api', stripe: world.stripe }));
    const [old, young, held] = run.discrepancies;
    expect(run.discrepancies).toHaveLength(3);
    const deps = { db: world.db, hotAccountShards: 4 };
    const inputOf = (key: string, id: string) => ({ idempotencyKey: key, discrepancyId: id, note: 'unknown adjustment, accepted by finance' });
    await resolveDiscrepancy(deps, OPS, inputOf('resolve-old', old!.id));
    await resolveDiscrepancy(deps, OPS, inputOf('resolve-young', young!.id));
    await resolveDiscrepancy(deps, OPS, inputOf('resolve-held', held!.id));
    // resolve-old: 25 h old. resolve-young: 23 h old. resolve-held: 25 h old but still held by a run.
    await world.prisma.$executeRawUnsafe(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours', completed_at = now() - interval '25 hours' WHERE key = 'resolve-old'`);
    await world.prisma.$executeRawUnsafe(`UPDATE idempotency_keys SET created_at = now() - interval '23 hours', completed_at = now() - interval '23 hours' WHERE key = 'resolve-young'`);
    await world.prisma.$executeRawUnsafe(
      `UPDATE idempotency_keys SET created_at = now() - interval '25 hours', status = 'in_progress', completed_at = NULL, locked_until = now() + interval '1 minute' WHERE key = 'resolve-held'`,
    );
    const ledgerBefore = { transactions: await count('journal_transactions'), entries: await count('ledger_entries'), discrepancies: await count('discrepancies'), runs: await count('reconciliation_runs') };

    expect(await cleanupExpiredIdempotencyKeys({ db: world.db, logger }, 24 * HOUR_MS)).toBe(1);
    expect(await keys()).toEqual(['resolve-held', 'resolve-young']);
    expect(await cleanupExpiredIdempotencyKeys({ db: world.db, logger }, 24 * HOUR_MS)).toBe(0);

    // Within the retention, the same request replays its stored answer.
    expect(await resolveDiscrepancy(deps, OPS, inputOf('resolve-young', young!.id))).toEqual({ discrepancyId: young!.id, replayed: true });
    // The ledger and the reconciliation history are untouched.
    expect({ transactions: await count('journal_transactions'), entries: await count('ledger_entries'), discrepancies: await count('discrepancies'), runs: await count('reconciliation_runs') }).toEqual(ledgerBefore);
    // A retention below 24 hours is refused before anything is deleted.
    await expect(cleanupExpiredIdempotencyKeys({ db: world.db, logger }, HOUR_MS)).rejects.toThrow(/24 hours/);
    expect(await keys()).toEqual(['resolve-held', 'resolve-young']);
  });
});
