// requestPayout for a seller paid in another currency (PAYOUT_DESTINATIONS sellerId=dest:CUR),
// when the amount converts to nothing in the payout currency: a typed PAYOUT_BELOW_MINIMUM that
// writes nothing, against the real PostgreSQL, RabbitMQ, PSP simulator and the real wallet's
// routes. The wallet's balance must be left as it was (not held by a reservation no payout exists
// for until the sweep of abandoned reservations gives it back), and a retry with the same key
// answers the same error.
import { randomBytes } from 'node:crypto';
import { DomainError, type Caller } from '@clearhouse/shared';
import { startHarness, type Harness } from '../testing/harness.test-support.js';
import { callerKey, payoutIdFor, requestPayout, type RequestPayoutCommand } from './request-payout.js';

jest.setTimeout(60_000);

const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };
let h: Harness;

beforeAll(async () => {
  // 1 KRW = 0.075 US cents: up to 6 KRW is worth 0 cents (half-up), 7 KRW is worth 1 cent.
  h = await startHarness({
    PAYOUT_DESTINATIONS: 'krwexplicit=ba_krwexplicit:USD,krwwhole=ba_krwwhole:USD,krwfine=ba_krwfine:USD',
    FX_RATES: 'KRW/USD=0.00075',
  });
});
afterAll(async () => {
  await h?.stop();
});

function key(): string {
  return `k_${randomBytes(8).toString('hex')}`;
}

async function refusal(command: RequestPayoutCommand): Promise<{ code: string; field: string[] | null } | 'no error'> {
  try {
    await requestPayout(h.service.deps, platform, command);
  } catch (error) {
    if (error instanceof DomainError) return { code: error.code, field: error.field };
    throw error;
  }
  return 'no error';
}

async function payoutRows(sellerId: string): Promise<number> {
  const rows = await h.service.deps.db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM payouts WHERE seller_id = $1`, sellerId);
  return rows[0]?.n ?? -1;
}

async function outboxRows(sellerId: string): Promise<number> {
  const rows = await h.service.deps.db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM outbox_messages WHERE payload->>'sellerId' = $1`, sellerId);
  return rows[0]?.n ?? -1;
}

const WORTHLESS = { code: 'PAYOUT_BELOW_MINIMUM', field: ['input', 'amountMinor'] };

describe('a payout worth nothing in the currency of the seller\'s payout account', () => {
  it('an explicit amount: PAYOUT_BELOW_MINIMUM, nothing written, nothing reserved; the same key answers the same', async () => {
    const sellerId = 'krwexplicit';
    await h.wallet.credit(sellerId, 'KRW', 500n);
    const command: RequestPayoutCommand = { idempotencyKey: key(), sellerId, currency: 'KRW', amountMinor: 5n };

    expect(await refusal(command)).toEqual(WORTHLESS);
    expect(await payoutRows(sellerId)).toBe(0);
    expect(await outboxRows(sellerId)).toBe(0);
    expect(await h.wallet.reservationStatus(payoutIdFor(callerKey(platform), command.idempotencyKey))).toBeNull();
    expect(await h.wallet.balance(sellerId, 'KRW')).toEqual({ availableMinor: 500n, reservedMinor: 0n });

    expect(await refusal(command)).toEqual(WORTHLESS);
    expect(await h.wallet.balance(sellerId, 'KRW')).toEqual({ availableMinor: 500n, reservedMinor: 0n });
  });

  it('the whole balance: PAYOUT_BELOW_MINIMUM, no payout, the balance at once as it was; the same key answers the same', async () => {
    const sellerId = 'krwwhole';
    await h.wallet.credit(sellerId, 'KRW', 6n);
    const command: RequestPayoutCommand = { idempotencyKey: key(), sellerId, currency: 'KRW', amountMinor: null };

    expect(await refusal(command)).toMatchObject({ code: 'PAYOUT_BELOW_MINIMUM' });
    expect(await payoutRows(sellerId)).toBe(0);
    expect(await outboxRows(sellerId)).toBe(0);
    expect(await h.wallet.balance(sellerId, 'KRW')).toEqual({ availableMinor: 6n, reservedMinor: 0n });

    expect(await refusal(command)).toMatchObject({ code: 'PAYOUT_BELOW_MINIMUM' });
    expect(await payoutRows(sellerId)).toBe(0);
    expect(await h.wallet.balance(sellerId, 'KRW')).toEqual({ availableMinor: 6n, reservedMinor: 0n });
  });

  it('an amount worth a cent is paid (the refusal is no wider than it must be)', async () => {
    const sellerId = 'krwfine';
    await h.wallet.credit(sellerId, 'KRW', 7n);
    const { payout } = await requestPayout(h.service.deps, platform, { idempotencyKey: key(), sellerId, currency: 'KRW', amountMinor: null });
    expect(payout).toMatchObject({ amountMinor: 7n, currency: 'KRW', payoutAmountMinor: 1n, payoutCurrency: 'USD' });
    expect(await h.wallet.balance(sellerId, 'KRW')).toEqual({ availableMinor: 0n, reservedMinor: 7n });
  });
});
