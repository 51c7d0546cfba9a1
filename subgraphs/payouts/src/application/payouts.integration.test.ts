// The payouts use cases against the real PostgreSQL, RabbitMQ, the in-process PSP simulator and
// the real wallet's internal reservation routes on the wallet's own database (see
// testing/wallet.test-support.ts).
import { randomBytes } from 'node:crypto';
import { DomainError, silentLogger, systemCaller, type Caller } from '@clearhouse/shared';
import { WalletReservationMismatchError, WalletUnavailableError } from '../clients/wallet.js';
import { findPayout, insertPayout } from '../persistence/payouts.js';
import { PspError } from '../psp/port.js';
import { ownTransaction } from './deps.js';
import { executePayout } from './execute-payout.js';
import { startHarness, waitFor, type Harness } from '../testing/harness.test-support.js';
import { EXECUTE_PAYOUT_CONSUMER, PSP_PAYOUT_UPDATED_CONSUMER } from '../messaging/index.js';
import { requestPayout, type RequestPayoutCommand } from './request-payout.js';
import { runScheduledPayouts } from './scheduled-payouts.js';

jest.setTimeout(60_000);

const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ PAYOUT_DESTINATIONS: 'fxseller=ba_fxseller:USD', FX_RATES: 'EUR/USD=1.08' });
});
afterAll(async () => {
  await h?.stop();
});

function seller(label: string): string {
  return `${label}${randomBytes(4).toString('hex')}`;
}

function key(): string {
  return `k_${randomBytes(8).toString('hex')}`;
}

async function request(command: Partial<RequestPayoutCommand> & { sellerId: string }, caller: Caller = platform) {
  return requestPayout(h.service.deps, caller, { idempotencyKey: key(), currency: 'USD', amountMinor: null, ...command });
}

async function errorCode(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  return 'no error';
}

async function waitForStatus(payoutId: string, status: string, timeoutMs = 15_000) {
  return waitFor(async () => {
    const payout = await findPayout(h.service.deps.db, payoutId);
    return payout?.status === status ? payout : undefined;
  }, timeoutMs, `payout ${payoutId} ${status}`);
}

async function outboxEvents(payoutId: string): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  const rows = await h.service.deps.db.$queryRawUnsafe<{ event_type: string; payload: Record<string, unknown> }[]>(
    `SELECT event_type, payload FROM outbox_messages WHERE correlation_id = $1 ORDER BY created_at`,
    payoutId,
  );
  return rows.map((row) => ({ type: row.event_type, payload: row.payload }));
}

async function pspPayoutsFor(payoutId: string, destination: string): Promise<{ id: string; amount: number; currency: string }[]> {
  const list = (await fetch(`${h.simulatorUrl}/v1/payouts?destination=${destination}&limit=100`, { headers: { authorization: 'Bearer sk_test_clearhouse' } }).then((r) => r.json())) as {
    data: { id: string; amount: number; currency: string; metadata: Record<string, string> }[];
  };
  return list.data.filter((payout) => payout.metadata.payoutId === payoutId);
}

async function createRequestsFor(payoutId: string) {
  return (await h.simulatorLog()).filter((entry) => entry.kind === 'api' && entry.method === 'POST' && entry.path === '/v1/payouts' && entry.idempotencyKey?.startsWith(`payout:${payoutId}`));
}

describe('requestPayout', () => {
  it('reserves, saves PENDING with payout.requested, and is idempotent', async () => {
    const sellerId = seller('happy');
    await h.wallet.credit(sellerId, 'USD', 10_000n);
    const idempotencyKey = key();
    const first = await request({ sellerId, idempotencyKey, amountMinor: 2_500n });
    expect(first.replayed).toBe(false);
    expect(first.payout).toMatchObject({ sellerId, currency: 'USD', amountMinor: 2_500n, destination: `ba_${sellerId}`, fx: null });
    const again = await request({ sellerId, idempotencyKey, amountMinor: 2_500n });
    expect(again).toMatchObject({ replayed: true, payout: { id: first.payout.id } });
    expect(await errorCode(() => request({ sellerId, idempotencyKey, amountMinor: 2_600n }))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 7_500n, reservedMinor: 2_500n });

    const paid = await waitForStatus(first.payout.id, 'PAID');
    expect(paid.pspPayoutId).toMatch(/^po_/);
    expect(paid.paidAt).toBeInstanceOf(Date);
    const events = await outboxEvents(first.payout.id);
    expect(events.map((event) => event.type)).toEqual(['payout.requested', 'payout.paid']);
    expect(events[0]?.payload).toMatchObject({ payoutId: first.payout.id, sellerId, currency: 'USD', amountMinor: '2500' });
    expect(events[1]?.payload).toMatchObject({ payoutId: first.payout.id, pspPayoutId: paid.pspPayoutId, amountMinor: '2500' });
    expect(await pspPayoutsFor(first.payout.id, `ba_${sellerId}`)).toEqual([expect.objectContaining({ amount: 2500, currency: 'usd' })]);
  });

  it('pays the whole available balance when no amount is given', async () => {
    const sellerId = seller('whole');
    await h.wallet.credit(sellerId, 'USD', 4_321n);
    const { payout } = await request({ sellerId });
    expect(payout.amountMinor).toBe(4_321n);
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 0n, reservedMinor: 4_321n });
  });

  it('refuses what it must: minimum, funds, currency, callers', async () => {
    const sellerId = seller('rules');
    await h.wallet.credit(sellerId, 'USD', 150n);
    expect(await errorCode(() => request({ sellerId, amountMinor: 99n }))).toBe('PAYOUT_BELOW_MINIMUM');
    expect(await errorCode(() => request({ sellerId, amountMinor: 200n }))).toBe('INSUFFICIENT_FUNDS');
    expect(await errorCode(() => request({ sellerId, currency: 'XYZ' }))).toBe('CURRENCY_NOT_SUPPORTED');
    expect(await errorCode(() => request({ sellerId, amountMinor: 1n, currency: 'JPY' }))).toBe('INSUFFICIENT_FUNDS');
    const poor = seller('poor');
    await h.wallet.credit(poor, 'USD', 50n);
    expect(await errorCode(() => request({ sellerId: poor }))).toBe('PAYOUT_BELOW_MINIMUM');
    expect(await errorCode(() => request({ sellerId: seller('nobody') }))).toBe('INSUFFICIENT_FUNDS');

    const otherSeller: Caller = { role: 'seller', keyId: 'key_s', sellerId: 'someone_else' };
    expect(await errorCode(() => request({ sellerId, amountMinor: 100n }, otherSeller))).toBe('FORBIDDEN');
    expect(await errorCode(() => request({ sellerId, amountMinor: 100n }, { role: 'ops', keyId: 'key_ops', sellerId: null }))).toBe('FORBIDDEN');
    const itself: Caller = { role: 'seller', keyId: 'key_self', sellerId };
    const { payout } = await request({ sellerId, amountMinor: 100n }, itself);
    expect(payout.requestedBy).toBe('seller:key_self');
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 50n, reservedMinor: 100n });
  });

  it('20 concurrent requests for one seller never reserve more than the available balance', async () => {
    const sellerId = seller('race');
    await h.wallet.credit(sellerId, 'USD', 10_000n);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => request({ sellerId, amountMinor: 700n })));
    const paid = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(paid).toHaveLength(14);
    expect(refused.map((result) => (result.reason as DomainError).code)).toEqual(Array(6).fill('INSUFFICIENT_FUNDS'));
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 200n, reservedMinor: 9_800n });
    const rows = await h.service.deps.db.$queryRawUnsafe<{ total: bigint }[]>(`SELECT COALESCE(SUM(amount_minor), 0) AS total FROM payouts WHERE seller_id = $1`, sellerId);
    expect(BigInt(rows[0]?.total ?? 0)).toBe(9_800n);
  });

  it('records the FX rate for a payout account in another currency', async () => {
    await h.wallet.credit('fxseller', 'EUR', 10_000n);
    const { payout } = await request({ sellerId: 'fxseller', currency: 'EUR', amountMinor: 1_000n });
    expect(payout).toMatchObject({ currency: 'EUR', amountMinor: 1_000n, payoutCurrency: 'USD', payoutAmountMinor: 1_080n, fx: { rateNumerator: 27n, rateDenominator: 25n } });
    await waitForStatus(payout.id, 'PAID');
    const events = await outboxEvents(payout.id);
    expect(events[0]?.payload).toMatchObject({ currency: 'EUR', amountMinor: '1000', fx: { payoutCurrency: 'USD', payoutAmountMinor: '1080', rateNumerator: '27', rateDenominator: '25' } });
    expect(await pspPayoutsFor(payout.id, 'ba_fxseller')).toEqual([expect.objectContaining({ amount: 1080, currency: 'usd' })]);
  });
});

describe('execution at the PSP', () => {
  afterEach(async () => {
    await h.admin('DELETE', '/__admin/faults');
  });

  it('a PSP timeout is retried with the same idempotency key: exactly one PSP payout', async () => {
    const sellerId = seller('timeout');
    await h.wallet.credit(sellerId, 'USD', 5_000n);
    // Webhooks dropped too, so only the executor's retry (same key) can move the payout on.
    await h.admin('POST', '/__admin/faults', { apiTimeoutRate: 1, paths: ['/v1/payouts'], webhookDropRate: 1 });
    const { payout } = await request({ sellerId, amountMinor: 1_000n });
    await waitFor(async () => (await createRequestsFor(payout.id)).some((entry) => entry.outcome === 'fault_timeout'), 10_000, 'a timed-out create');
    await h.admin('POST', '/__admin/faults', { apiTimeoutRate: 0 });
    await waitForStatus(payout.id, 'PROCESSING');
    await h.admin('DELETE', '/__admin/faults');
    await new Promise((resolve) => setTimeout(resolve, 600));
    await waitFor(async () => {
      await h.service.recheckPayouts();
      return (await findPayout(h.service.deps.db, payout.id))?.status === 'PAID' ? true : undefined;
    }, 10_000, 'PAID after the re-check');
    const creates = await createRequestsFor(payout.id);
    expect(creates.length).toBeGreaterThanOrEqual(2);
    expect(creates[0]?.outcome).toBe('fault_timeout');
    expect(new Set(creates.map((entry) => entry.idempotencyKey))).toEqual(new Set([`payout:${payout.id}`]));
    expect(await pspPayoutsFor(payout.id, `ba_${sellerId}`)).toHaveLength(1);
  });

  it('a PSP 5xx is retried (a burned key is replaced only after checking the PSP): exactly one PSP payout', async () => {
    const sellerId = seller('fivexx');
    await h.wallet.credit(sellerId, 'USD', 5_000n);
    await h.admin('POST', '/__admin/faults', { apiErrorRate: 1, paths: ['/v1/payouts'] });
    const { payout } = await request({ sellerId, amountMinor: 1_000n });
    await waitFor(async () => (await createRequestsFor(payout.id)).some((entry) => entry.outcome === 'fault_api_error'), 10_000, 'a failed create');
    await h.admin('DELETE', '/__admin/faults');
    const paid = await waitForStatus(payout.id, 'PAID');
    const psp = await pspPayoutsFor(payout.id, `ba_${sellerId}`);
    expect(psp).toHaveLength(1);
    expect(psp[0]?.id).toBe(paid.pspPayoutId);
    const keys = (await createRequestsFor(payout.id)).map((entry) => entry.idempotencyKey);
    expect(keys[0]).toBe(`payout:${payout.id}`);
    // The 5xx is stored under the first key (replayed), so the payout was created under the next one.
    expect(keys).toContain(`payout:${payout.id}:1`);
  });

  it('the consumer holds no database transaction open while the PSP answers (no external call inside a transaction)', async () => {
    const sellerId = seller('slowpsp');
    await h.wallet.credit(sellerId, 'USD', 5_000n);
    await h.admin('POST', '/__admin/faults', { apiLatencyMs: 1_500, paths: ['/v1/payouts'] });
    const { payout } = await request({ sellerId, amountMinor: 900n });
    // Sampled for as long as the payout waits for the PSP's answer (1.5 s of latency at least): a
    // consumer transaction left open after its inbox row for over half a second is one waiting
    // for the PSP (the other consumers' transactions last milliseconds).
    let samples = 0;
    let openWhileWaiting = 0;
    while ((await findPayout(h.service.deps.db, payout.id))?.status === 'PENDING' && samples < 400) {
      const [row] = await h.service.deps.db.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE 'INSERT INTO inbox_messages%'
            AND now() - xact_start > interval '500 milliseconds'`,
      );
      openWhileWaiting = Math.max(openWhileWaiting, Number(row?.n ?? 0));
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(samples).toBeGreaterThan(20);
    expect(openWhileWaiting).toBe(0);
    await waitForStatus(payout.id, 'PAID');
    // The delivery is recorded once its outcome is written (or, when the payout.paid webhook got
    // there first and a retry found the payout final, alone).
    const inbox = await waitFor(async () => {
      const rows = await h.service.deps.db.$queryRawUnsafe<{ consumer: string }[]>(
        `SELECT i.consumer FROM inbox_messages i JOIN outbox_messages o ON o.id::text = i.message_id WHERE o.correlation_id = $1 AND o.event_type = 'payout.requested'`,
        payout.id,
      );
      return rows.length > 0 ? rows : undefined;
    }, 10_000, 'the delivery in the inbox');
    expect(inbox).toEqual([{ consumer: EXECUTE_PAYOUT_CONSUMER }]);
    expect(await pspPayoutsFor(payout.id, `ba_${sellerId}`)).toHaveLength(1);
  });

  it('a payout the PSP fails permanently ends FAILED with payout.failed', async () => {
    const sellerId = `${seller('s')}_fail_closed`;
    await h.wallet.credit(sellerId, 'USD', 5_000n);
    const { payout } = await request({ sellerId, amountMinor: 1_200n });
    const failed = await waitForStatus(payout.id, 'FAILED');
    expect(failed).toMatchObject({ failureCode: 'account_closed', paidAt: null });
    const events = await outboxEvents(payout.id);
    expect(events.map((event) => event.type)).toEqual(['payout.requested', 'payout.failed']);
    expect(events[1]?.payload).toMatchObject({ payoutId: payout.id, amountMinor: '1200', failureCode: 'account_closed', pspPayoutId: failed.pspPayoutId });
  });

  it('a payout the PSP rejects at creation (4xx) ends FAILED with payout.failed', async () => {
    // The simulator has no payouts.create that answers 4xx for a well-formed request, so this one
    // goes through the PSP port with an adapter that answers like Stripe does for a bad destination.
    const rejectingPsp = {
      ...h.service.deps.psp,
      createPayout: async () => {
        throw new PspError('rejected', 'No such external account: ba_x', 400, 'resource_missing');
      },
    };
    const deps = { ...h.service.deps, psp: rejectingPsp };
    // Saved without its event, so the running service's consumer does not race this execution.
    const now = new Date();
    const payoutId = `payout_reject_${randomBytes(6).toString('hex')}`;
    await insertPayout(h.service.deps.db, {
      id: payoutId, sellerId: seller('reject'), currency: 'USD', amountMinor: 700n, payoutCurrency: 'USD', payoutAmountMinor: 700n, fx: null,
      destination: 'ba_x', status: 'PENDING', pspPayoutId: null, failureCode: null, failureMessage: null, requestedBy: 'platform:test',
      idempotencyKey: key(), createdAt: now, updatedAt: now, paidAt: null, failedAt: null, version: 0,
    });
    expect(await executePayout(deps, payoutId, ownTransaction(deps))).toBe('changed');
    expect(await findPayout(h.service.deps.db, payoutId)).toMatchObject({ status: 'FAILED', failureCode: 'resource_missing', pspPayoutId: null });
    const events = await outboxEvents(payoutId);
    expect(events.map((event) => event.type)).toEqual(['payout.failed']);
    expect(events[0]?.payload).toMatchObject({ payoutId, amountMinor: '700', failureCode: 'resource_missing' });
    // A redelivery finds it final and does nothing.
    expect(await executePayout(deps, payoutId, ownTransaction(deps))).toBe('skipped');
  });
});

describe('confirmation', () => {
  it('a duplicated confirmation makes one transition and one payout.paid', async () => {
    const sellerId = seller('dup');
    await h.wallet.credit(sellerId, 'USD', 5_000n);
    const { payout } = await request({ sellerId, amountMinor: 1_000n });
    const paid = await waitForStatus(payout.id, 'PAID');
    const pspPayoutId = paid.pspPayoutId ?? '';
    const occurredAt = new Date();
    for (const [index, status] of (['paid', 'paid', 'failed', 'in_transit'] as const).entries()) {
      await h.publishPspPayoutUpdate({ pspEventId: `evt_dup_${index}_${payout.id}`, pspPayoutId, payoutId: payout.id, status, occurredAt });
    }
    await waitFor(async () => {
      const rows = await h.service.deps.db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM inbox_messages WHERE consumer = $1`, PSP_PAYOUT_UPDATED_CONSUMER);
      return Number(rows[0]?.n ?? 0) >= 4 ? true : undefined;
    }, 10_000, 'the duplicates consumed');
    const after = await findPayout(h.service.deps.db, payout.id);
    expect(after).toMatchObject({ status: 'PAID', version: paid.version, paidAt: paid.paidAt });
    expect((await outboxEvents(payout.id)).filter((event) => event.type === 'payout.paid')).toHaveLength(1);
  });

  it('a dropped webhook is caught up by the re-check', async () => {
    const sellerId = seller('drop');
    await h.wallet.credit(sellerId, 'USD', 5_000n);
    await h.admin('POST', '/__admin/faults', { webhookDropRate: 1 });
    try {
      const { payout } = await request({ sellerId, amountMinor: 1_000n });
      await waitForStatus(payout.id, 'PROCESSING');
      await new Promise((resolve) => setTimeout(resolve, 600));
      await waitFor(async () => {
        await h.service.recheckPayouts();
        return (await findPayout(h.service.deps.db, payout.id))?.status === 'PAID' ? true : undefined;
      }, 10_000, 'the re-check to mark it PAID');
      expect((await outboxEvents(payout.id)).map((event) => event.type)).toEqual(['payout.requested', 'payout.paid']);
    } finally {
      await h.admin('DELETE', '/__admin/faults');
    }
  });

  it('executes each payout.requested once (inbox)', async () => {
    const rows = await h.service.deps.db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM inbox_messages WHERE consumer = $1`, EXECUTE_PAYOUT_CONSUMER);
    expect(Number(rows[0]?.n ?? 0)).toBeGreaterThan(0);
  });
});

describe('scheduled payouts', () => {
  it('pays every seller over the minimum once per seller, currency and day', async () => {
    const big = seller('schedbig');
    const yen = seller('schedyen');
    const small = seller('schedsmall');
    await h.wallet.credit(big, 'USD', 5_000n);
    await h.wallet.credit(yen, 'JPY', 50n);
    await h.wallet.credit(small, 'USD', 50n);
    const day = new Date('2030-01-15T02:00:00Z');
    const first = await runScheduledPayouts(h.service.deps, day);
    expect(first.requested).toBeGreaterThanOrEqual(2);
    const second = await runScheduledPayouts(h.service.deps, new Date('2030-01-15T23:00:00Z'));
    expect(second.requested).toBe(0);
    const count = async (sellerId: string) =>
      Number((await h.service.deps.db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM payouts WHERE seller_id = $1`, sellerId))[0]?.n ?? 0);
    expect(await count(big)).toBe(1);
    expect(await count(yen)).toBe(1);
    expect(await count(small)).toBe(0);
    expect(await h.wallet.balance(big, 'USD')).toEqual({ availableMinor: 0n, reservedMinor: 5_000n });

    // Another day: a new payout, if there is money.
    await h.wallet.credit(big, 'USD', 300n);
    await runScheduledPayouts(h.service.deps, new Date('2030-01-16T02:00:00Z'));
    expect(await count(big)).toBe(2);
    const payout = await findPayout(h.service.deps.db, (await h.service.deps.db.$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM payouts WHERE seller_id = $1 ORDER BY created_at DESC LIMIT 1`, big))[0]?.id ?? '');
    expect(payout).toMatchObject({ amountMinor: 300n, requestedBy: `system:${systemCaller('payouts-scheduler').keyId}`, idempotencyKey: `scheduled:${big}:USD:2030-01-16` });
  });

  it('a run that stops at its page cap says it is incomplete, stores the cursor, and the next run of the day resumes from it', async () => {
    // Under the minimum: listed by the wallet, skipped by the run, so no payout is requested.
    for (const label of ['schedcapa', 'schedcapb', 'schedcapc']) await h.wallet.credit(seller(label), 'USD', 50n);
    const logs: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
    const logger = {
      ...silentLogger,
      info: (obj: object, msg?: string) => { logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }); },
      warn: (obj: object, msg?: string) => { logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }); },
    };
    const deps = { ...h.service.deps, logger };
    const day = new Date('2030-02-01T02:00:00Z');

    const capped = await runScheduledPayouts(deps, day, { pageSize: 1, pagesMax: 2 });
    expect(capped.complete).toBe(false);
    expect(capped.requested + capped.replayed + capped.skipped + capped.failed).toBe(2);
    expect(logs.some((entry) => entry.msg === 'scheduled payout run finished')).toBe(false);
    const stopped = logs.filter((entry) => entry.level === 'warn');
    expect(stopped).toHaveLength(1);
    expect(stopped[0]?.msg).toMatch(/page cap/);
    const resumeAfter = stopped[0]?.obj.resumeAfter;
    expect(typeof resumeAfter).toBe('string');
    // The cursor is one the wallet accepts, there is more to pay after it, and the day keeps it.
    const rest = await h.service.deps.wallet.listAvailableBalances(1n, 1_000, resumeAfter as string);
    expect(rest.balances.length).toBeGreaterThanOrEqual(1);
    expect(rest.nextCursor).toBeNull();
    const stored = await h.service.deps.db.$queryRawUnsafe<{ resume_after: string | null; completed_at: Date | null }[]>(
      `SELECT resume_after, completed_at FROM scheduled_payout_runs WHERE day = $1::date`,
      '2030-02-01',
    );
    expect(stored).toEqual([{ resume_after: resumeAfter, completed_at: null }]);

    // The next run of the day visits exactly the balances after the cursor.
    logs.length = 0;
    const full = await runScheduledPayouts(deps, day, { pageSize: 1, pagesMax: 1_000 });
    expect(full.complete).toBe(true);
    expect(full.requested + full.replayed + full.skipped + full.failed).toBe(rest.balances.length);
    expect(logs.filter((entry) => entry.level === 'warn')).toHaveLength(0);
    expect(logs.find((entry) => entry.msg === 'scheduled payout run finished')?.obj).toMatchObject({ complete: true });
  });
});

describe('wallet client', () => {
  it("a request the wallet refuses fails with the wallet's reason", async () => {
    const wallet = h.service.deps.wallet;
    const reason = async (run: () => Promise<unknown>): Promise<string> => {
      try {
        await run();
      } catch (error) {
        expect(error).toBeInstanceOf(WalletUnavailableError);
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(await reason(() => wallet.listAvailableBalances(1n, 10, 'not-a-cursor'))).toMatch(/^wallet balances answered 400: after: not a cursor this route returned$/);
    expect(await reason(() => wallet.listHeldReservations(0, 10, 'not-a-cursor'))).toMatch(/^wallet held reservations answered 400: after: not a cursor this route returned$/);
    expect(await reason(() => wallet.release(''))).toMatch(/^wallet refused to release : 400: payoutId: /);
  });

  it('a payout id the wallet found reserved meanwhile with other terms is a WalletReservationMismatchError, not the wallet being unavailable', async () => {
    const sellerId = `mismatch${randomBytes(4).toString('hex')}`;
    const payoutId = `po_mismatch_${randomBytes(4).toString('hex')}`;
    await h.wallet.credit(sellerId, 'USD', 10_000n);
    // The wallet's payout.requested consumer reserves the payout id for 3000 while the client's
    // reservation of 4000 is on its way: the wallet answers 409 RESERVATION_MISMATCH.
    const error = await h.wallet.reserveMeanwhile({ payoutId, sellerId, currency: 'USD', amountMinor: 3_000n }, () =>
      h.service.deps.wallet.reserve({ payoutId, sellerId, currency: 'USD', amountMinor: 4_000n, minAmountMinor: 100n }).then(
        (result) => ({ result }),
        (rejected: unknown) => rejected,
      ),
    );
    expect(error).toBeInstanceOf(WalletReservationMismatchError);
    expect(error).not.toBeInstanceOf(WalletUnavailableError);
    expect(error).toMatchObject({ code: 'RESERVATION_MISMATCH', payoutId });
    // Only the consumer's hold: the refused reservation took nothing.
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 7_000n, reservedMinor: 3_000n });
    expect(await h.wallet.reservationStatus(payoutId)).toBe('held');
  });
});
