// requestPayout when the payout cannot be saved after the wallet reserved its amount: the
// reservation is given back (compensation), and a retry with the same idempotency key (hence the
// same payout id) must not save and pay a payout that took nothing from the balance.
import { randomBytes } from 'node:crypto';
import { DomainError, type Caller } from '@clearhouse/shared';
import { failingNextTransaction } from '../testing/faults.test-support.js';
import { startHarness, type Harness } from '../testing/harness.test-support.js';
import { requestPayout } from './request-payout.js';

jest.setTimeout(60_000);

const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function payoutRows(sellerId: string): Promise<number> {
  const rows = await h.service.deps.db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM payouts WHERE seller_id = $1`, sellerId);
  return Number(rows[0]?.n ?? 0);
}

describe('requestPayout after a compensated failure', () => {
  it('a retry with the same key gets a typed error and saves no payout once the reservation was given back', async () => {
    const sellerId = `comp${randomBytes(4).toString('hex')}`;
    await h.wallet.credit(sellerId, 'USD', 10_000n);
    const idempotencyKey = `k_${randomBytes(8).toString('hex')}`;
    const command = { idempotencyKey, sellerId, currency: 'USD', amountMinor: 4_000n };

    const failing = { ...h.service.deps, db: failingNextTransaction(h.service.deps.db) };
    await expect(requestPayout(failing, platform, command)).rejects.toThrow('connection terminated unexpectedly');
    // Compensated: the amount is available again and there is no payout.
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 10_000n, reservedMinor: 0n });
    expect(await payoutRows(sellerId)).toBe(0);

    // The client retries with the same key, as it should after an error.
    let code: string | undefined;
    try {
      await requestPayout(h.service.deps, platform, command);
    } catch (error) {
      code = error instanceof DomainError ? error.code : `not a DomainError: ${String(error)}`;
    }
    expect(code).toBe('INVALID_STATE');
    expect(await payoutRows(sellerId)).toBe(0);
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 10_000n, reservedMinor: 0n });
    // The answer is stored under the key: asking again gives the same typed error, still nothing written.
    await expect(requestPayout(h.service.deps, platform, command)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await payoutRows(sellerId)).toBe(0);

    // A new key pays out normally.
    const { payout } = await requestPayout(h.service.deps, platform, { ...command, idempotencyKey: `${idempotencyKey}_2` });
    expect(payout.amountMinor).toBe(4_000n);
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 6_000n, reservedMinor: 4_000n });
  });
});
