// The pg-backed TransactionalDb against a real PostgreSQL: results shaped like Prisma's raw
// results, commit and rollback, isolation level, the transaction timeout, a broken connection.
import { createTestDatabase, type TestDatabase } from '../testkit/database.js';
import { createPgDatabase, TransactionTimeoutError, type PgDatabase } from './pg-database.js';

let database: TestDatabase;
let db: PgDatabase;

beforeAll(async () => {
  database = await createTestDatabase('wallet');
  db = createPgDatabase(database.url, { poolMax: 4 });
  await db.$executeRawUnsafe('CREATE TABLE pgdb_rows (id text PRIMARY KEY, amount int8 NOT NULL)');
});

afterAll(async () => {
  await db?.end();
  await database?.drop();
});

async function rowIds(): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<{ id: string }[]>('SELECT id FROM pgdb_rows ORDER BY id');
  return rows.map((row) => row.id);
}

test('int8 comes back as bigint, timestamps as Date, json parsed, numeric as text', async () => {
  const [row] = await db.$queryRawUnsafe<Record<string, unknown>[]>(
    `SELECT 9007199254740993::int8 AS big, ARRAY[1,2]::int8[] AS bigs, now() AS at, '{"a":[1]}'::jsonb AS doc, 1.50::numeric AS num, 7::int4 AS small`,
  );
  expect(row).toEqual({ big: 9007199254740993n, bigs: [1n, 2n], at: expect.any(Date), doc: { a: [1] }, num: '1.50', small: 7 });
});

test('bigint and array parameters are sent as text; executeRaw returns the row count', async () => {
  const inserted = await db.$executeRawUnsafe('INSERT INTO pgdb_rows (id, amount) SELECT unnest($1::text[]), $2::int8', ['p1', 'p2'], 12345678901234n);
  expect(inserted).toBe(2);
  const rows = await db.$queryRawUnsafe<{ amount: bigint }[]>('SELECT amount FROM pgdb_rows WHERE id = ANY($1::text[])', ['p1', 'p2']);
  expect(rows.map((row) => row.amount)).toEqual([12345678901234n, 12345678901234n]);
  await db.$executeRawUnsafe('DELETE FROM pgdb_rows');
});

test('a transaction commits what its function wrote and returns its result', async () => {
  const result = await db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('INSERT INTO pgdb_rows (id, amount) VALUES ($1, 1)', 'c1');
    return (await tx.$queryRawUnsafe<{ n: bigint }[]>('SELECT count(*) AS n FROM pgdb_rows'))[0]?.n;
  });
  expect(result).toBe(1n);
  expect(await rowIds()).toEqual(['c1']);
  await db.$executeRawUnsafe('DELETE FROM pgdb_rows');
});

test('a function that throws rolls everything back and the connection is reusable', async () => {
  await expect(
    db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('INSERT INTO pgdb_rows (id, amount) VALUES ($1, 1)', 'r1');
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  await expect(
    db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('INSERT INTO pgdb_rows (id, amount) VALUES ($1, 1)', 'r2');
      await tx.$executeRawUnsafe('INSERT INTO pgdb_rows (id, amount) VALUES ($1, 1)', 'r2');
    }),
  ).rejects.toMatchObject({ code: '23505' });
  expect(await rowIds()).toEqual([]);
  // Every pooled connection is back, idle and usable (no transaction left open on it).
  const states = await Promise.all([1, 2, 3, 4].map(() => db.$queryRawUnsafe<{ s: string }[]>(`SELECT current_setting('transaction_isolation') AS s`)));
  expect(states.map((rows) => rows[0]?.s)).toEqual(['read committed', 'read committed', 'read committed', 'read committed']);
});

test('the isolation level applies to the transaction only', async () => {
  const level = await db.$transaction(async (tx) => (await tx.$queryRawUnsafe<{ s: string }[]>(`SELECT current_setting('transaction_isolation') AS s`))[0]?.s, {
    isolationLevel: 'Serializable',
  });
  expect(level).toBe('serializable');
});

test('a transaction past its timeout is rolled back, a slow statement is cancelled', async () => {
  await expect(
    db.$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe('INSERT INTO pgdb_rows (id, amount) VALUES ($1, 1)', 't1');
        await new Promise((resolve) => setTimeout(resolve, 300));
      },
      { timeout: 100 },
    ),
  ).rejects.toBeInstanceOf(TransactionTimeoutError);
  await expect(db.$transaction(async (tx) => tx.$queryRawUnsafe('SELECT pg_sleep(2)'), { timeout: 200 })).rejects.toMatchObject({ code: '57014' });
  expect(await rowIds()).toEqual([]);
});

test('a connection killed mid-transaction is discarded, not handed out again', async () => {
  await expect(
    db.$transaction(async (tx) => {
      const [me] = await tx.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
      await db.$queryRawUnsafe('SELECT pg_terminate_backend($1)', me?.pid);
      await tx.$executeRawUnsafe('INSERT INTO pgdb_rows (id, amount) VALUES ($1, 1)', 'k1');
    }),
  ).rejects.toThrow();
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map(() => db.$queryRawUnsafe<{ one: number }[]>('SELECT 1 AS one')));
  expect(results.every((rows) => rows[0]?.one === 1)).toBe(true);
  expect(await rowIds()).toEqual([]);
});

test('bad options are refused before anything is written', async () => {
  expect(() => createPgDatabase(database.url, { poolMax: 0 })).toThrow('poolMax');
  await expect(db.$transaction(async (tx) => tx.$executeRawUnsafe('INSERT INTO pgdb_rows (id, amount) VALUES ($1, 1)', 'x'), { timeout: 0 })).rejects.toThrow('timeout');
  expect(await rowIds()).toEqual([]);
});
