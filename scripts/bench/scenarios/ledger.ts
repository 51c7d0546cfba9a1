// (c) The ledger alone: balanced postings per second on hot accounts.
//
// Mode `broker` (default, what production does): an isolated ledger subgraph process (the same
// compiled entry `npm start` runs, its own database `clearhouse_bench_<id>l_ledger` and broker
// prefix `b_<id>l`) consumes `payment.succeeded@1` events that this process publishes to its
// events exchange with publisher confirms, exactly as the payments outbox relay does. The path
// measured is the production one: broker → consumer (decode, zod validation, inbox row, posting
// rules, journal insert with the hot-account sub-accounts, ack). Isolation keeps the synthetic
// payments out of the main platform's books (its audit would rightly flag them) and keeps the
// wallet, payments and gateway consumers out of the measurement.
//
// Mode `inprocess`: the ledger's application use case (postTransaction) called with N concurrent
// workers against the same kind of database, no broker: the ceiling of the posting path itself.
//
// Hot accounts: every payment debits psp_receivable and credits platform_fee_revenue; sellers are
// drawn from a pool of 20 so their seller_pending accounts are hot too.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { Connection } from 'rabbitmq-client';
import { REPO_ROOT } from '../../lib/platform';
import { benchEnv, freePort, platformEnv, prepareDatabases, startService, dropDatabases, deleteBrokerObjects, type TargetOptions } from '../platform';
import { progress, say } from '../progress';
import { summarize } from '../stats';

export interface LedgerOptions {
  readonly mode: 'broker' | 'inprocess';
  readonly rate: number;
  readonly durationSec: number;
  readonly drainTimeoutSec: number;
  readonly sellerPool: number;
  readonly concurrency: number;
}

export interface LedgerResult {
  readonly mode: string;
  readonly published: number;
  readonly posted: number;
  readonly publishRate: number;
  /** postings / (last posted_at − first posted_at). */
  readonly postingsPerSec: number;
  /** Median of the full seconds between the first and last posting. */
  readonly medianPerSec: number;
  readonly perSecond: number[];
  readonly balanced: boolean;
  readonly unbalancedTransactions: number;
  readonly duplicateReferences: number;
  readonly driftRows: number;
  readonly unposted: number;
  readonly consumerQueue: string | null;
  readonly note: string;
  /** The isolated ledger process (broker mode), so that `--profile` can name its CPU profile. */
  readonly servicePid: number | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FEE_BPS = 290n;

function payload(paymentId: string, sellerPool: number, runTag: string) {
  const count = 1 + Math.floor(Math.random() * 3);
  const sellers = new Set<string>();
  while (sellers.size < Math.min(count, sellerPool)) sellers.add(`hot_${runTag}_${Math.floor(Math.random() * sellerPool)}`);
  let total = 0n;
  const orders = [...sellers].map((sellerId, index) => {
    const amountMinor = BigInt(500 + Math.floor(Math.random() * 20_000));
    // 2.9 % half-up, as the payments subgraph computes it (the ledger only checks the sum).
    const feeMinor = (amountMinor * FEE_BPS + 5_000n) / 10_000n;
    total += amountMinor;
    return { paymentOrderId: `${paymentId}_po_${index}`, sellerId, amountMinor: String(amountMinor), feeMinor: String(feeMinor), netAmountMinor: String(amountMinor - feeMinor) };
  });
  return {
    paymentId,
    buyerId: `buyer_${paymentId}`,
    currency: 'USD',
    amountMinor: String(total),
    pspPaymentIntentId: `pi_${paymentId}`,
    pspChargeId: `ch_${paymentId}`,
    succeededAt: new Date().toISOString(),
    orders,
  };
}

async function ledgerStats(db: Client): Promise<{ count: number }> {
  const result = await db.query<{ count: string }>('SELECT count(*)::text AS count FROM journal_transactions');
  return { count: Number(result.rows[0]?.count ?? 0) };
}

async function verify(db: Client): Promise<{ balanced: boolean; unbalanced: number; duplicates: number; drift: number; perSecond: number[]; spanMs: number; count: number }> {
  const unbalanced = await db.query<{ count: string }>(
    `SELECT count(*)::text AS count FROM (
       SELECT transaction_id FROM ledger_entries GROUP BY transaction_id, currency
       HAVING sum(CASE WHEN direction = 'DEBIT' THEN amount_minor ELSE -amount_minor END) <> 0) t`,
  );
  const totals = await db.query<{ debits: string; credits: string }>(
    `SELECT coalesce(sum(amount_minor) FILTER (WHERE direction = 'DEBIT'), 0)::text AS debits,
            coalesce(sum(amount_minor) FILTER (WHERE direction = 'CREDIT'), 0)::text AS credits FROM ledger_entries`,
  );
  const duplicates = await db.query<{ count: string }>('SELECT (count(*) - count(DISTINCT reference))::text AS count FROM journal_transactions');
  let drift = 0;
  try {
    drift = (await db.query('SELECT * FROM ledger_check_account_balances()')).rowCount ?? 0;
  } catch {
    drift = 0; // the check function is optional
  }
  const buckets = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM journal_transactions GROUP BY date_trunc('second', posted_at) ORDER BY date_trunc('second', posted_at)`,
  );
  const span = await db.query<{ span_ms: string | null; count: string }>(
    `SELECT (extract(epoch FROM max(posted_at) - min(posted_at)) * 1000)::text AS span_ms, count(*)::text AS count FROM journal_transactions`,
  );
  const row = totals.rows[0];
  return {
    balanced: row !== undefined && row.debits === row.credits && Number(unbalanced.rows[0]?.count ?? 0) === 0,
    unbalanced: Number(unbalanced.rows[0]?.count ?? 0),
    duplicates: Number(duplicates.rows[0]?.count ?? 0),
    drift,
    perSecond: buckets.rows.map((bucket) => Number(bucket.n)),
    spanMs: Number(span.rows[0]?.span_ms ?? 0),
    count: Number(span.rows[0]?.count ?? 0),
  };
}

/**
 * Waits until the ledger consumes payment.succeeded@1: its queue (named after the consumer) has
 * a consumer, which the kit only starts after binding the queue. Asked over AMQP (a passive
 * declare), so the bench does not need the management plugin.
 */
async function findConsumerQueue(amqpUrl: string, prefix: string, timeoutMs: number): Promise<string | null> {
  const { consumerQueueName } = await import('@clearhouse/shared');
  const queue = consumerQueueName(prefix, 'ledger.payment-succeeded');
  const connection = new Connection({ url: amqpUrl, connectionName: `${prefix}.bench-probe` });
  connection.on('error', () => undefined);
  try {
    await connection.onConnect(10_000);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const { consumerCount } = await connection.queueDeclare({ queue, passive: true });
        if (consumerCount > 0) return queue;
      } catch {
        // not declared yet (a passive declare of a missing queue fails)
      }
      await sleep(250);
    }
    return null;
  } finally {
    await connection.close();
  }
}

async function runBroker(env: Record<string, string>, options: LedgerOptions, db: Client, runTag: string, logFile: string, markEnd: () => void): Promise<{ published: number; queue: string | null; publishMs: number; note: string; pid: number | null }> {
  const { ConfirmPublisher, newEvent, encodeEnvelope, eventProperties } = await import('@clearhouse/shared');
  const port = Number(env.LEDGER_PORT);
  const ledger = await startService('ledger', 'subgraphs/ledger/dist/main.js', env, port, logFile);
  try {
    const exchange = `${env.BROKER_PREFIX}.events`;
    const queue = await findConsumerQueue(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', env.BROKER_PREFIX ?? '', 15_000);
    const pid = ledger.child.pid ?? null;
    if (!queue) return { published: 0, queue: null, publishMs: 0, note: 'the ledger has no consumer bound to payment.succeeded yet', pid };
    const connection = new Connection({ url: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', connectionName: `${env.BROKER_PREFIX}.bench-publisher` });
    connection.on('error', () => undefined);
    await connection.onConnect(10_000);
    // Stands in for the payments timeline consumer, which is not running here: without a queue
    // bound to timeline.recorded the ledger's relay would find every timeline event unroutable
    // and retry it (cost that production does not have). Deleted with the run's broker objects.
    const sink = `${env.BROKER_PREFIX}.bench.timeline-sink`;
    await connection.queueDeclare({ queue: sink, durable: false, arguments: { 'x-max-length': 1 } });
    await connection.queueBind({ queue: sink, exchange, routingKey: 'timeline.recorded' });
    const publisher = new ConfirmPublisher(connection);
    const total = options.rate * options.durationSec;
    let published = 0;
    let failed = 0;
    const inflightMax = 256;
    let inflight = 0;
    const bar = progress(`(c) ledger via broker ${options.rate}/s`, options.durationSec * 1000);
    let lastCount = 0;
    let lastAt = Date.now();
    const ticker = setInterval(() => {
      void ledgerStats(db).then(({ count }) => {
        const now = Date.now();
        bar.update(`published ${published}  posted ${count}  ${(((count - lastCount) * 1000) / (now - lastAt)).toFixed(0)} postings/s`);
        lastCount = count;
        lastAt = now;
      }, () => undefined);
    }, 1000);
    const startedAt = Date.now();
    const waiters: (() => void)[] = [];
    for (let index = 0; index < total; index += 1) {
      // Open-loop pacing: event i goes out at i / rate seconds.
      const due = startedAt + (index * 1000) / options.rate;
      const wait = due - Date.now();
      if (wait > 2) await sleep(wait);
      while (inflight >= inflightMax) await new Promise<void>((resolve) => waiters.push(resolve));
      const paymentId = `pay_bench_${runTag}_${index}_${randomUUID().slice(0, 8)}`;
      const event = newEvent('payment.succeeded', 1, paymentId, payload(paymentId, options.sellerPool, runTag));
      inflight += 1;
      void publisher
        .publish({ exchange, routingKey: 'payment.succeeded', ...eventProperties(event) }, encodeEnvelope(event))
        .then(
          () => {
            published += 1;
          },
          () => {
            failed += 1;
          },
        )
        .finally(() => {
          inflight -= 1;
          waiters.shift()?.();
        });
    }
    while (inflight > 0) await sleep(20);
    const publishMs = Date.now() - startedAt;
    clearInterval(ticker);
    bar.done(`published ${published} in ${(publishMs / 1000).toFixed(1)} s${failed ? `, ${failed} failed` : ''}`);
    // Drain: wait until every published event is posted (bounded).
    const drain = progress('(c) ledger draining', options.drainTimeoutSec * 1000);
    const drainDeadline = Date.now() + options.drainTimeoutSec * 1000;
    let stable = 0;
    let previous = -1;
    while (Date.now() < drainDeadline) {
      const { count } = await ledgerStats(db);
      drain.update(`posted ${count} of ${published}`);
      if (count >= published) break;
      stable = count === previous ? stable + 1 : 0;
      previous = count;
      if (stable >= 20) break; // nothing moved for 10 s
      await sleep(500);
    }
    drain.done();
    markEnd();
    await publisher.close();
    await connection.close();
    return { published, queue, publishMs, note: 'isolated ledger process consuming payment.succeeded@1 from RabbitMQ', pid };
  } finally {
    await ledger.stop();
  }
}

async function runInProcess(env: Record<string, string>, options: LedgerOptions, runTag: string, markEnd: () => void): Promise<{ published: number; publishMs: number; note: string }> {
  const dist = join(REPO_ROOT, 'subgraphs', 'ledger', 'dist');
  const { postTransaction } = (await import(join(dist, 'application', 'post-transaction.js'))) as { postTransaction: (db: unknown, draft: unknown, options?: { hotAccountShards?: number }) => Promise<unknown> };
  const { postPaymentSucceeded } = (await import(join(dist, 'domain', 'index.js'))) as { postPaymentSucceeded: (event: unknown) => { kind: string; transaction?: unknown } };
  const { PrismaClient } = (await import(join(dist, 'generated', 'prisma', 'client.js'))) as { PrismaClient: new (options: unknown) => { $disconnect(): Promise<void> } };
  const { createPgAdapter, databaseUrl, paymentSucceededV1 } = await import('@clearhouse/shared');
  const url = databaseUrl(env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432', env.DATABASE_PREFIX!, 'ledger');
  const prisma = new PrismaClient({ adapter: createPgAdapter(url, { poolMax: options.concurrency }) });
  const shards = env.HOT_ACCOUNT_SHARDS ? Number(env.HOT_ACCOUNT_SHARDS) : undefined;
  const total = options.rate * options.durationSec;
  let next = 0;
  let done = 0;
  const bar = progress(`(c) ledger in-process x${options.concurrency}`, options.durationSec * 1000);
  const ticker = setInterval(() => bar.update(`posted ${done} of ${total}`), 1000);
  const startedAt = Date.now();
  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        for (let index = next++; index < total && Date.now() - startedAt < options.durationSec * 4000; index = next++) {
          const paymentId = `pay_bench_${runTag}_${index}`;
          const event = paymentSucceededV1.parse(payload(paymentId, options.sellerPool, runTag));
          const posting = postPaymentSucceeded(event);
          if (posting.kind === 'post' && posting.transaction) await postTransaction(prisma, posting.transaction, shards ? { hotAccountShards: shards } : {});
          done += 1;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
    bar.done(`posted ${done} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    markEnd();
    await prisma.$disconnect();
  }
  return { published: done, publishMs: Date.now() - startedAt, note: `ledger use case postTransaction in-process, ${options.concurrency} concurrent, no broker` };
}

export async function ledgerAlone(runId: string, targetOptions: TargetOptions, markEnd: () => void, options: LedgerOptions): Promise<LedgerResult> {
  const runTag = `${runId}l`;
  const base = benchEnv(runTag, `clearhouse_bench_${runTag}`, `b_${runTag}`, targetOptions);
  const ports = { gateway: await freePort(), payments: await freePort(), ledger: await freePort(), wallet: await freePort(), payouts: await freePort(), psp: await freePort() };
  // No PSP runs beside the isolated ledger: its nightly reconciliation (which starts by catching
  // up on the previous day) would fail against nothing and retry, work that is not the scenario's.
  const env: Record<string, string> = { ...platformEnv(base, ports), RECONCILIATION_ENABLED: 'false' };
  say(`(c) preparing the isolated ledger database clearhouse_bench_${runTag}_ledger ...`);
  await prepareDatabases(env);
  const { databaseUrl } = await import('@clearhouse/shared');
  const db = new Client({ connectionString: databaseUrl(env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432', env.DATABASE_PREFIX!, 'ledger') });
  await db.connect();
  try {
    const run =
      options.mode === 'broker'
        ? await runBroker(env, options, db, runTag, join(targetOptions.runDir, 'ledger-isolated.log'), markEnd)
        : { ...(await runInProcess(env, options, runTag, markEnd)), queue: null, pid: null };
    const check = await verify(db);
    const steady = check.perSecond.length > 2 ? check.perSecond.slice(1, -1) : check.perSecond;
    return {
      mode: options.mode,
      published: run.published,
      posted: check.count,
      publishRate: run.publishMs > 0 ? (run.published * 1000) / run.publishMs : 0,
      postingsPerSec: check.spanMs > 0 ? (check.count * 1000) / check.spanMs : 0,
      medianPerSec: summarize(steady).p50,
      perSecond: check.perSecond,
      balanced: check.balanced,
      unbalancedTransactions: check.unbalanced,
      duplicateReferences: check.duplicates,
      driftRows: check.drift,
      unposted: Math.max(0, run.published - check.count),
      consumerQueue: run.queue,
      note: run.note,
      servicePid: run.pid,
    };
  } finally {
    await db.end();
    if (!targetOptions.keep) {
      await dropDatabases(env).catch(() => undefined);
      await deleteBrokerObjects(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', `b_${runTag}`).catch(() => undefined);
    }
  }
}
