// The simulator's write-behind against the real PostgreSQL: what a flush writes, in how many
// statements, and in what order the rows come back after a restart (loadTable).
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import pino from 'pino';
import { createTables, dropDatabase, ensureDatabase, loadTable, type Row } from './db.js';
import { WriteBehind } from './writeBehind.js';

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const databaseUrl = `${POSTGRES_URL}/clearhouse_test_psp_${randomBytes(6).toString('hex')}`;
let pool: Pool;

/** The real pool, counting the statements sent on it directly and the connections checked out. */
function counting(inner: Pool): { pool: Pool; statements: number; checkouts: number } {
  const counts = { statements: 0, checkouts: 0 };
  const proxy = {
    query: (...args: Parameters<Pool['query']>) => {
      counts.statements++;
      return (inner.query as (...a: unknown[]) => unknown)(...args);
    },
    connect: () => {
      counts.checkouts++;
      return inner.connect();
    },
  } as unknown as Pool;
  return Object.assign(counts, { pool: proxy });
}

const row = (id: string, created: number, data: Record<string, unknown>): Row => ({ id, type: 'payment_intent', created, data });

beforeAll(async () => {
  await ensureDatabase(databaseUrl);
  pool = new Pool({ connectionString: databaseUrl, max: 2 });
  await createTables(pool);
});

afterAll(async () => {
  await pool.end();
  await dropDatabase(databaseUrl);
});

test('a flush writes every table in one statement; rows come back in the order they were first written', async () => {
  const counted = counting(pool);
  const writer = new WriteBehind(counted.pool, pino({ level: 'silent' }));
  writer.upsert('jobs', { id: 'job_1', type: 'webhook', created: 1, data: { attempt: 1 } });
  await writer.flush();

  counted.statements = 0;
  counted.checkouts = 0;
  writer.upsert('objects', row('pi_1', 10, { amount: 100, note: 'quote " and \\ backslash' }));
  writer.upsert('objects', row('pi_2', 11, { amount: 200 }));
  writer.upsert('objects', row('pi_3', 12, { amount: 300 }));
  writer.upsert('idempotency_keys', { id: 'key_1', type: 'idempotency', created: 13, data: { status: 200 } });
  writer.delete('jobs', 'job_1');
  await writer.flush();
  expect(counted).toMatchObject({ statements: 1, checkouts: 0 });

  // An update keeps the row's place; a new row comes after.
  writer.upsert('objects', row('pi_2', 11, { amount: 250 }));
  writer.upsert('objects', row('pi_4', 14, { amount: 400 }));
  await writer.flush();

  const objects = await loadTable(pool, 'objects');
  expect(objects.map((object) => [object.id, object.data.amount])).toEqual([
    ['pi_1', 100],
    ['pi_2', 250],
    ['pi_3', 300],
    ['pi_4', 400],
  ]);
  expect(objects[0]?.data.note).toBe('quote " and \\ backslash');
  expect(await loadTable(pool, 'idempotency_keys')).toEqual([{ id: 'key_1', type: 'idempotency', created: 13, data: { status: 200 } }]);
  expect(await loadTable(pool, 'jobs')).toEqual([]);
});

test('a batch too big for one statement is written in chunks inside one transaction', async () => {
  const counted = counting(pool);
  const writer = new WriteBehind(counted.pool, pino({ level: 'silent' }));
  for (let index = 0; index < 2_500; index++) writer.upsert('objects', row(`big_${String(index).padStart(4, '0')}`, 100 + index, { index }));
  await writer.flush();
  expect(counted).toMatchObject({ statements: 0, checkouts: 1 });
  const big = (await loadTable(pool, 'objects')).filter((object) => object.id.startsWith('big_'));
  expect(big).toHaveLength(2_500);
  expect(big.map((object) => object.data.index)).toEqual(Array.from({ length: 2_500 }, (_, index) => index));
});

test('each shape of batch is parsed and planned once per connection, then only executed', async () => {
  const single = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const writer = new WriteBehind(single, pino({ level: 'silent' }));
    for (let index = 0; index < 7; index++) {
      writer.upsert('objects', row(`prep_${index}`, 500 + index, { index }));
      writer.upsert('jobs', { id: `prep_job_${index}`, type: 'webhook', created: 500 + index, data: { attempt: 1 } });
      await writer.flush();
    }
    writer.delete('jobs', 'prep_job_0');
    await writer.flush();
    // The pool's only connection: what it has prepared, and how often each was executed.
    const { rows } = await single.query<{ name: string; executions: number }>(
      `SELECT name, (generic_plans + custom_plans)::int AS executions FROM pg_prepared_statements ORDER BY name`,
    );
    expect(rows).toEqual([
      { name: 'write_behind_jobs_d', executions: 1 },
      { name: 'write_behind_objects_u_jobs_u', executions: 7 },
    ]);
    expect((await loadTable(pool, 'objects')).filter((object) => object.id.startsWith('prep_'))).toHaveLength(7);
    expect((await loadTable(pool, 'jobs')).filter((job) => job.id.startsWith('prep_job_')).map((job) => job.id)).toEqual(Array.from({ length: 6 }, (_, index) => `prep_job_${index + 1}`));
  } finally {
    await single.end();
  }
});
