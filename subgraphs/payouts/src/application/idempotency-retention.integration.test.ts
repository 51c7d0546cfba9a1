// Retention of requestPayout's idempotency keys, against the real database: the service's own
// periodic job (CLEANUP_INTERVAL_MS) deletes keys older than IDEMPOTENCY_KEY_RETENTION_MS and keeps
// the others, which still replay; a key reused after its row is gone is checked against the payout
// it made (its payout id is derived from the key).
import { randomBytes } from 'node:crypto';
import { EnvError, type Caller } from '@clearhouse/shared';
import { parsePayoutsEnv } from '../env.js';
import { startHarness, waitFor, type Harness } from '../testing/harness.test-support.js';
import { requestPayout, type RequestPayoutCommand } from './request-payout.js';

jest.setTimeout(60_000);

const HOUR_MS = 3_600_000;
const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ CLEANUP_INTERVAL_MS: '1s' });
});
afterAll(async () => {
  await h?.stop();
});

function key(label: string): string {
  return `k_${label}_${randomBytes(6).toString('hex')}`;
}

async function request(command: RequestPayoutCommand) {
  return requestPayout(h.service.deps, platform, command);
}

/** Pretends the key was first used `ageMs` ago. */
async function age(idempotencyKey: string, ageMs: number): Promise<void> {
  const updated = await h.service.deps.db.$executeRawUnsafe(
    `UPDATE idempotency_keys SET created_at = now() - ($2::bigint * interval '1 millisecond') WHERE key = $1`,
    idempotencyKey,
    ageMs,
  );
  expect(updated).toBe(1);
}

async function keyRows(idempotencyKey: string): Promise<number> {
  const rows = await h.service.deps.db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM idempotency_keys WHERE key = $1`, idempotencyKey);
  return Number(rows[0]?.n ?? 0);
}

async function payoutRows(sellerId: string): Promise<number> {
  const rows = await h.service.deps.db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM payouts WHERE seller_id = $1`, sellerId);
  return Number(rows[0]?.n ?? 0);
}

async function deletedByTheService(idempotencyKey: string): Promise<void> {
  await waitFor(async () => ((await keyRows(idempotencyKey)) === 0 ? true : undefined), 15_000, `key ${idempotencyKey} deleted by the retention job`);
}

describe('idempotency key retention', () => {
  it('deletes keys past IDEMPOTENCY_KEY_RETENTION_MS, keeps those within it, and a key within it still replays', async () => {
    const sellerId = `ret${randomBytes(4).toString('hex')}`;
    await h.wallet.credit(sellerId, 'USD', 10_000n);
    const expired = { idempotencyKey: key('expired'), sellerId, currency: 'USD', amountMinor: 1_000n };
    const kept = { idempotencyKey: key('kept'), sellerId, currency: 'USD', amountMinor: 2_000n };
    const fresh = { idempotencyKey: key('fresh'), sellerId, currency: 'USD', amountMinor: 3_000n };
    await request(expired);
    const keptPayout = (await request(kept)).payout;
    const freshPayout = (await request(fresh)).payout;
    await age(kept.idempotencyKey, 23 * HOUR_MS);
    await age(expired.idempotencyKey, 25 * HOUR_MS);

    await deletedByTheService(expired.idempotencyKey);
    // The run that deleted the expired key saw these two: they are within the retention.
    expect(await keyRows(kept.idempotencyKey)).toBe(1);
    expect(await keyRows(fresh.idempotencyKey)).toBe(1);

    expect(await request(kept)).toMatchObject({ replayed: true, payout: { id: keptPayout.id, amountMinor: 2_000n } });
    expect(await request(fresh)).toMatchObject({ replayed: true, payout: { id: freshPayout.id, amountMinor: 3_000n } });
    await expect(request({ ...kept, amountMinor: 2_500n })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await payoutRows(sellerId)).toBe(3);
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 4_000n, reservedMinor: 6_000n });
  });

  it('a key reused after its row was deleted: another input is IDEMPOTENCY_KEY_REUSED and writes nothing; the same input answers its payout', async () => {
    const sellerId = `reuse${randomBytes(4).toString('hex')}`;
    const otherSellerId = `reuse${randomBytes(4).toString('hex')}`;
    await h.wallet.credit(sellerId, 'USD', 5_000n);
    await h.wallet.credit(otherSellerId, 'USD', 5_000n);
    const command = { idempotencyKey: key('reused'), sellerId, currency: 'USD', amountMinor: 1_000n };
    const { payout } = await request(command);
    await age(command.idempotencyKey, 25 * HOUR_MS);
    await deletedByTheService(command.idempotencyKey);

    for (const other of [{ ...command, amountMinor: 1_500n }, { ...command, currency: 'EUR' }, { ...command, sellerId: otherSellerId }]) {
      await expect(request(other)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    }
    // Nothing written: no payout, no reservation, and no key row holding the refused input.
    expect(await payoutRows(sellerId)).toBe(1);
    expect(await payoutRows(otherSellerId)).toBe(0);
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 4_000n, reservedMinor: 1_000n });
    expect(await h.wallet.balance(otherSellerId, 'USD')).toEqual({ availableMinor: 5_000n, reservedMinor: 0n });
    expect(await keyRows(command.idempotencyKey)).toBe(0);

    const again = await request(command);
    expect(again.payout).toMatchObject({ id: payout.id, sellerId, amountMinor: 1_000n });
    expect(await payoutRows(sellerId)).toBe(1);
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 4_000n, reservedMinor: 1_000n });
  });
});

describe('IDEMPOTENCY_KEY_RETENTION_MS', () => {
  it('defaults to 24 h and refuses less', () => {
    expect(parsePayoutsEnv({}).IDEMPOTENCY_KEY_RETENTION_MS).toBe(24 * HOUR_MS);
    expect(parsePayoutsEnv({ IDEMPOTENCY_KEY_RETENTION_MS: '72h' }).IDEMPOTENCY_KEY_RETENTION_MS).toBe(72 * HOUR_MS);
    expect(() => parsePayoutsEnv({ IDEMPOTENCY_KEY_RETENTION_MS: '23h' })).toThrow(EnvError);
  });
});
