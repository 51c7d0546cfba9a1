// The wallet client against the real wallet's signed internal routes on the wallet's own migrated
// database (testing/wallet.test-support.ts): how it reads the wallet's answers to a payout id that
// already has something stored.
import { randomBytes } from 'node:crypto';
import { createWalletClient, WalletReservationMismatchError, WalletUnavailableError, type ReserveRequest, type WalletReservations } from './wallet.js';
import { startWalletService, type WalletService } from '../testing/wallet.test-support.js';

jest.setTimeout(60_000);

const SIGNING_SECRET = 'test-wallet-client-signing-secret-0123456789';
let wallet: WalletService;
let client: WalletReservations;

beforeAll(async () => {
  wallet = await startWalletService(SIGNING_SECRET);
  client = createWalletClient({ baseUrl: wallet.url, signingSecret: SIGNING_SECRET, timeoutMs: 5_000 });
});
afterAll(async () => {
  await wallet?.stop();
});

const unique = (label: string) => `${label}${randomBytes(4).toString('hex')}`;

/** What the client's call ended with: its result, or the error it threw. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { result: await run() };
  } catch (error) {
    return error;
  }
}

describe('wallet client: a payout id that already has something stored', () => {
  it('a reservation with other terms than the stored one, held or given back, is a WalletReservationMismatchError and reserves nothing', async () => {
    const sellerId = unique('clientterms');
    const otherSellerId = unique('clientterms_other');
    await wallet.credit(sellerId, 'USD', 10_000n);
    await wallet.credit(otherSellerId, 'USD', 10_000n);
    const request: ReserveRequest = { payoutId: unique('po_clientterms_'), sellerId, currency: 'USD', amountMinor: 4_000n, minAmountMinor: 100n };
    expect(await client.reserve(request)).toEqual({ ok: true, amountMinor: 4_000n, replayed: false });

    for (const other of [{ ...request, amountMinor: 3_000n }, { ...request, sellerId: otherSellerId }]) {
      const error = await outcome(() => client.reserve(other));
      expect(error).toBeInstanceOf(WalletReservationMismatchError);
      expect(error).not.toBeInstanceOf(WalletUnavailableError);
      expect(error).toMatchObject({ code: 'RESERVATION_MISMATCH', payoutId: request.payoutId });
    }
    expect(await client.reserve(request)).toEqual({ ok: true, amountMinor: 4_000n, replayed: true });

    // Given back: other terms are still not this reservation's retry; the same terms are refused as released.
    expect(await client.release(request.payoutId)).toBe(true);
    expect(await outcome(() => client.reserve({ ...request, amountMinor: 3_000n }))).toBeInstanceOf(WalletReservationMismatchError);
    expect(await client.reserve(request)).toEqual({ ok: false, code: 'RESERVATION_RELEASED' });
    expect(await wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 10_000n, reservedMinor: 0n });
    expect(await wallet.balance(otherSellerId, 'USD')).toEqual({ availableMinor: 10_000n, reservedMinor: 0n });
  });

  it('a release before any reservation answers false (nothing was held), and a reservation arriving afterwards is RESERVATION_RELEASED and holds nothing', async () => {
    const sellerId = unique('clientfirst');
    await wallet.credit(sellerId, 'USD', 5_000n);
    const payoutId = unique('po_clientfirst_');

    expect(await client.release(payoutId)).toBe(false);
    expect(await wallet.reservationStatus(payoutId)).toBe('released');
    for (const amountMinor of [4_000n, null]) {
      expect(await client.reserve({ payoutId, sellerId, currency: 'USD', amountMinor, minAmountMinor: 100n })).toEqual({ ok: false, code: 'RESERVATION_RELEASED' });
    }
    expect(await client.release(payoutId)).toBe(false);
    expect(await wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 5_000n, reservedMinor: 0n });
    // Never listed as held: the abandoned-reservation sweep has nothing to do for it.
    const { reservations } = await client.listHeldReservations(0, 1_000, null);
    expect(reservations.filter((r) => r.payoutId === payoutId)).toEqual([]);
  });
});
