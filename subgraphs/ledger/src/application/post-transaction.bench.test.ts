// Throughput probe (run explicitly: LEDGER_BENCH=1 npx jest post-transaction.bench): balanced
// postings per second on the hot accounts with a pool of connections.
import { createPgAdapter } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { paymentSucceeded } from '../domain/builders.test-support.js';
import { postPaymentSucceeded } from '../domain/index.js';
import { postTransaction } from './post-transaction.js';

const run = process.env.LEDGER_BENCH ? it : it.skip;
jest.setTimeout(300_000);

run('posts >= 1,000 balanced transactions per second on hot accounts', async () => {
  const database: TestDatabase = await createTestDatabase('ledger');
  const concurrency = Number(process.env.LEDGER_BENCH_CONCURRENCY ?? 32);
  const shards = Number(process.env.LEDGER_BENCH_SHARDS ?? 8);
  const prisma = new PrismaClient({ adapter: createPgAdapter(database.url, { poolMax: concurrency }) });
  try {
    const total = Number(process.env.LEDGER_BENCH_TOTAL ?? 5000);
    const drafts = Array.from({ length: total }, (_, index) => {
      const result = postPaymentSucceeded(paymentSucceeded([{ sellerId: `s_${index % 50}`, amountMinor: 10_000n }], { paymentId: `pay_${index}` }));
      if (result.kind !== 'post') throw new Error('expected a posting');
      return result.transaction;
    });
    for (const draft of drafts.slice(0, 100)) await postTransaction(prisma, draft, { hotAccountShards: shards });
    let next = 100;
    const startedMs = Date.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let index = next++; index < total; index = next++) {
          const draft = drafts[index];
          if (draft) await postTransaction(prisma, draft, { hotAccountShards: shards });
        }
      }),
    );
    const perSecond = ((total - 100) * 1000) / (Date.now() - startedMs);
    console.log(`ledger bench: ${perSecond.toFixed(0)} postings/s (concurrency ${concurrency}, shards ${shards})`);
    const drift = await prisma.$queryRawUnsafe<unknown[]>(`SELECT * FROM ledger_check_account_balances()`);
    expect(drift).toHaveLength(0);
  } finally {
    await prisma.$disconnect();
    await database.drop();
  }
});
