// wallet.payment-succeeded takes deliveries that arrive together as one batch (handleBatch), and a
// batch with an event the database refuses falls back to one message at a time, so the good ones
// commit and only the bad one is retried and parked. Against real PostgreSQL and RabbitMQ.
//
// To make a batch deterministic, a first delivery is held up behind a row lock the test holds
// while the burst arrives; the kit queues the burst and runs it as the next batch.
import type { ConsumerDefinition, DomainEvent, PaymentSucceededV1, TransactionalConsumerDefinition } from '@clearhouse/shared';
import { consumerQueueName, deadLetterQueueName, listDeadLetters } from '@clearhouse/shared';
import type { z } from 'zod';
import { findWallet } from '../persistence/wallet-store.js';
import { eventOf, startConsumerHarness, waitFor, type ConsumerHarness } from './consumers.test-support.js';
import { paymentSucceededConsumer } from './payment-succeeded.consumer.js';

jest.setTimeout(60_000);

const AT = new Date('2025-03-01T10:00:00.000Z');
const CONSUMER = 'wallet.payment-succeeded';

/** What the kit did with the consumer: messages it parsed, the batches it handed over. */
const seen = { parsed: 0, batches: [] as { messageIds: string[]; failed: boolean }[] };

const real = paymentSucceededConsumer;
const observed: TransactionalConsumerDefinition<PaymentSucceededV1> = {
  ...real,
  schema: {
    parse: (value: unknown) => {
      seen.parsed++;
      return (real.schema as z.ZodType<PaymentSucceededV1>).parse(value);
    },
  } as unknown as z.ZodType<PaymentSucceededV1>,
  async handleBatch(events, tx, ctxs) {
    const batch = { messageIds: events.map((event) => event.messageId), failed: false };
    seen.batches.push(batch);
    try {
      await real.handleBatch?.(events, tx, ctxs);
    } catch (error) {
      batch.failed = true;
      throw error;
    }
  },
};

let h: ConsumerHarness;

beforeAll(async () => {
  h = await startConsumerHarness([observed as ConsumerDefinition<unknown>]);
});

afterAll(async () => {
  await h.close();
});

async function count(sql: string, ...values: unknown[]): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: bigint }[]>(sql, ...values);
  return Number(rows[0]?.n ?? 0);
}

function paymentEvent(paymentId: string, sellerId: string, netAmountMinor: bigint): DomainEvent<unknown> {
  const payment: PaymentSucceededV1 = {
    paymentId,
    buyerId: 'buyer_b',
    currency: 'USD',
    amountMinor: netAmountMinor,
    pspPaymentIntentId: `pi_${paymentId}`,
    succeededAt: AT,
    orders: [{ paymentOrderId: `${paymentId}_po`, sellerId, amountMinor: netAmountMinor, feeMinor: 0n, netAmountMinor }],
  };
  return eventOf('payment.succeeded@1', paymentId, payment);
}

async function consumed(event: DomainEvent<unknown>): Promise<true | undefined> {
  return (await count(`SELECT count(*) AS n FROM inbox_messages WHERE consumer = $1 AND message_id = $2`, CONSUMER, event.messageId)) === 1 ? true : undefined;
}

/**
 * Holds the gate seller's wallet row locked, delivers a payment for it (its transaction waits on
 * the lock), publishes `burst` and waits until the kit has parsed all of it, then lets go.
 */
async function deliverAsOneBatch(gateSellerId: string, burst: readonly DomainEvent<unknown>[]): Promise<void> {
  const opener = paymentEvent(`pay_${gateSellerId}_open`, gateSellerId, 1n);
  await h.publish(opener);
  await waitFor(() => consumed(opener), 'the gate wallet');

  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let lockTaken = (): void => undefined;
  const locked = new Promise<void>((resolve) => (lockTaken = resolve));
  const holder = h.prisma.$transaction(
    async (tx) => {
      await tx.$queryRawUnsafe(`SELECT 1 FROM wallet_balances WHERE seller_id = $1 FOR UPDATE`, gateSellerId);
      lockTaken();
      await released;
    },
    { timeout: 30_000 },
  );
  try {
    await locked;
    await h.publish(paymentEvent(`pay_${gateSellerId}_held`, gateSellerId, 1n));
    await waitFor(async () => ((await count(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)) > 0 ? true : undefined), 'the held delivery waiting');
    const parsedBefore = seen.parsed;
    await Promise.all(burst.map((event) => h.publish(event)));
    await waitFor(async () => (seen.parsed >= parsedBefore + burst.length ? true : undefined), 'the burst queued');
  } finally {
    release();
    await holder;
  }
}

describe('wallet.payment-succeeded in batches', () => {
  it('applies a burst in one transaction with the balances and versions of one-by-one', async () => {
    const burst = Array.from({ length: 12 }, (_, index) => paymentEvent(`pay_burst_${index}`, `b_${index % 3}`, BigInt(100 + index)));
    await deliverAsOneBatch('b_gate_1', burst);
    await waitFor(async () => ((await Promise.all(burst.map(consumed))).every(Boolean) ? true : undefined), 'the burst consumed');

    const batch = seen.batches.find((candidate) => candidate.messageIds.includes(burst[0]!.messageId));
    expect(batch).toEqual({ messageIds: burst.map((event) => event.messageId), failed: false });
    expect(await count(`SELECT count(DISTINCT xmin::text) AS n FROM wallet_movements WHERE correlation_id LIKE 'pay_burst_%'`)).toBe(1);
    // b_0 got 100, 103, 106, 109; b_1 101, 104, 107, 110; b_2 102, 105, 108, 111.
    expect(await findWallet(h.prisma, 'b_0', 'USD')).toMatchObject({ pendingMinor: 418n, version: 4 });
    expect(await findWallet(h.prisma, 'b_2', 'USD')).toMatchObject({ pendingMinor: 426n, version: 4 });
    const versions = await h.prisma.$queryRawUnsafe<{ pending: string; version: number }[]>(
      `SELECT payload->>'pendingMinor' AS pending, (payload->>'version')::int AS version FROM outbox_messages
        WHERE routing_key = 'wallet.balance_changed' AND payload->>'sellerId' = 'b_1' ORDER BY (payload->>'version')::int`,
    );
    expect(versions).toEqual([
      { pending: '101', version: 1 },
      { pending: '205', version: 2 },
      { pending: '312', version: 3 },
      { pending: '422', version: 4 },
    ]);
  });

  it('falls back to one message at a time when an event of the batch fails: the good ones commit, the bad one is parked', async () => {
    // A seller id the schema accepts (≤ 200) but the wallet columns do not (varchar(128)).
    const bad = paymentEvent('pay_fb_bad', `s_${'x'.repeat(150)}`, 50n);
    const good = Array.from({ length: 8 }, (_, index) => paymentEvent(`pay_fb_${index}`, `fb_${index % 2}`, 10n));
    const burst = [...good.slice(0, 4), bad, ...good.slice(4)];
    await deliverAsOneBatch('b_gate_2', burst);
    await waitFor(async () => ((await Promise.all(good.map(consumed))).every(Boolean) ? true : undefined), 'the good events consumed');

    const batch = seen.batches.find((candidate) => candidate.messageIds.includes(bad.messageId));
    expect(batch).toEqual({ messageIds: burst.map((event) => event.messageId), failed: true });
    expect(await findWallet(h.prisma, 'fb_0', 'USD')).toMatchObject({ pendingMinor: 40n, version: 4 });
    expect(await findWallet(h.prisma, 'fb_1', 'USD')).toMatchObject({ pendingMinor: 40n, version: 4 });
    expect(await count(`SELECT count(*) AS n FROM wallet_movements WHERE correlation_id LIKE 'pay_fb_%'`)).toBe(8);
    expect(await count(`SELECT count(*) AS n FROM outbox_messages WHERE correlation_id LIKE 'pay_fb_%'`)).toBe(16);

    const dlq = deadLetterQueueName(consumerQueueName(h.broker.prefix, CONSUMER));
    await waitFor(async () => (await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: dlq })).find((letter) => letter.messageId === bad.messageId), 'the bad event parked');
    expect(await consumed(bad)).toBeUndefined();
    expect(await count(`SELECT count(*) AS n FROM wallet_movements WHERE correlation_id = 'pay_fb_bad'`)).toBe(0);
  });
});
