// Audit findings on runIdempotent: what a refused or a stale run leaves behind in the key row.
import { Pool } from 'pg';
import { DomainError } from '../errors/index.js';
import type { SqlClient } from '../messaging/sql.js';
import { createTestDatabase, type TestDatabase } from '../testkit/database.js';
import { hashRequest, runIdempotent, type JsonValue, type RunIdempotentOptions } from './idempotency.js';

let database: TestDatabase;
let pool: Pool;
let db: SqlClient;

beforeAll(async () => {
  database = await createTestDatabase('payments');
  pool = new Pool({ connectionString: database.url, max: 20 });
  pool.on('error', () => undefined);
  db = {
    $executeRawUnsafe: async (query: string, ...values: unknown[]) => (await pool.query(query, values)).rowCount ?? 0,
    $queryRawUnsafe: async <T,>(query: string, ...values: unknown[]) => (await pool.query(query, values)).rows as T,
  };
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

let keyCounter = 0;
function nextKey(): string {
  keyCounter += 1;
  return `audit-key-${keyCounter}-${Date.now()}`;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'none';
  } catch (error) {
    return error instanceof DomainError ? error.code : `unexpected: ${String(error)}`;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function keyRows(key: string) {
  return db.$queryRawUnsafe<{ status: string; request_hash: string }[]>('SELECT status, request_hash FROM idempotency_keys WHERE caller_id = $1 AND key = $2', 'caller_1', key);
}

describe('runIdempotent after the operation itself reports IDEMPOTENCY_KEY_REUSED', () => {
  // An operation whose own table keeps the input its key was first used with (like a payment
  // created under the key): once the key row is gone (past its retention), only the operation
  // can tell that another input reuses the key.
  function operationWithOwnRecord(key: string) {
    const madeFrom = new Map<string, string>();
    const runs: string[] = [];
    return {
      runs,
      options(request: { amountMinor: bigint }): RunIdempotentOptions {
        return {
          db,
          callerId: 'caller_1',
          key,
          operation: 'audit-op',
          request,
          lockTtlMs: 10_000,
          execute: async (): Promise<{ response: JsonValue }> => {
            const hash = hashRequest('audit-op', request);
            const stored = madeFrom.get(key);
            if (stored !== undefined && stored !== hash) {
              throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used with a different input', { field: ['input', 'idempotencyKey'] });
            }
            madeFrom.set(key, hash);
            runs.push(String(request.amountMinor));
            return { response: { amountMinor: String(request.amountMinor) } };
          },
        };
      },
    };
  }

  test('another input refused under a key does not lock the original input out of that key', async () => {
    const key = nextKey();
    const op = operationWithOwnRecord(key);
    const original = { amountMinor: 100n };
    expect(await runIdempotent(op.options(original))).toEqual({ response: { amountMinor: '100' }, replayed: false });
    // The key row passes its retention; the operation's own record of the key stays.
    await db.$executeRawUnsafe('DELETE FROM idempotency_keys WHERE caller_id = $1 AND key = $2', 'caller_1', key);

    // Another input under the key: refused by the operation.
    expect(await codeOf(runIdempotent(op.options({ amountMinor: 999n })))).toBe('IDEMPOTENCY_KEY_REUSED');

    // The original client retries its own request: it must not be told its key was reused.
    expect(await codeOf(runIdempotent(op.options(original)))).toBe('none');
    expect(await keyRows(key)).toEqual([{ status: 'completed', request_hash: hashRequest('audit-op', original) }]);
    expect(await runIdempotent(op.options(original))).toEqual({ response: { amountMinor: '100' }, replayed: true });
    // And the other input is still refused.
    expect(await codeOf(runIdempotent(op.options({ amountMinor: 999n })))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(op.runs).toEqual(['100', '100']);
  });
});

describe('runIdempotent with a holder that outlived its lock', () => {
  test('a stale holder that finishes late does not release the lock of the run that took the key over', async () => {
    const key = nextKey();
    const request = { amountMinor: 5n };
    let running = 0;
    let concurrentMax = 0;
    let releaseTaker!: () => void;
    const takerGate = new Promise<void>((resolve) => (releaseTaker = resolve));
    const base: Omit<RunIdempotentOptions, 'execute'> = { db, callerId: 'caller_1', key, operation: 'audit-lock', request, lockTtlMs: 1_000 };
    const tracked = async <T,>(work: () => Promise<T>): Promise<T> => {
      running += 1;
      concurrentMax = Math.max(concurrentMax, running);
      try {
        return await work();
      } finally {
        running -= 1;
      }
    };

    // A: holds the key for longer than its 1 s lock, then fails retryably.
    const stale = runIdempotent({ ...base, execute: () => tracked(async () => (await sleep(1_600), { response: 'psp down', retryable: true })) });
    await sleep(1_200);
    // B: takes the expired lock over, with a lock long enough for its run, and is still running.
    const taker = runIdempotent({ ...base, lockTtlMs: 60_000, execute: () => tracked(async () => (await takerGate, { response: 'taker' })) });
    await sleep(50);
    expect(running).toBe(2);
    await expect(stale).resolves.toEqual({ response: 'psp down', replayed: false });

    // B still holds a live lock: a third request must be told the key is in use, not run too.
    const third = await codeOf(runIdempotent({ ...base, execute: () => tracked(async () => ({ response: 'third' })) }));
    releaseTaker();
    expect(await taker).toEqual({ response: 'taker', replayed: false });
    expect(third).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect(concurrentMax).toBe(2);
    expect(await runIdempotent({ ...base, execute: async () => ({ response: 'must not run' }) })).toEqual({ response: 'taker', replayed: true });
  });

  test('a stale holder that completes late does not overwrite the result of the run that took the key over', async () => {
    const key = nextKey();
    const request = { amountMinor: 6n };
    let releaseTaker!: () => void;
    const takerGate = new Promise<void>((resolve) => (releaseTaker = resolve));
    const base: Omit<RunIdempotentOptions, 'execute'> = { db, callerId: 'caller_1', key, operation: 'audit-lock', request, lockTtlMs: 1_000 };

    const stale = runIdempotent({ ...base, execute: async () => (await sleep(1_600), { response: 'stale' }) });
    await sleep(1_200);
    const taker = runIdempotent({ ...base, lockTtlMs: 60_000, execute: async () => (await takerGate, { response: 'taker' }) });
    await expect(stale).resolves.toEqual({ response: 'stale', replayed: false });
    // While B runs, the key is B's: in use, not a replay of what A happened to return.
    expect(await codeOf(runIdempotent({ ...base, execute: async () => ({ response: 'third' }) }))).toBe('IDEMPOTENCY_KEY_IN_USE');
    releaseTaker();
    expect(await taker).toEqual({ response: 'taker', replayed: false });
    const replays = await Promise.all([1, 2].map(() => runIdempotent({ ...base, execute: async () => ({ response: 'must not run' }) })));
    expect(replays).toEqual([
      { response: 'taker', replayed: true },
      { response: 'taker', replayed: true },
    ]);
  });
});

describe('runIdempotent with keys PostgreSQL cannot store as given', () => {
  const countRows = async () => Number((await db.$queryRawUnsafe<{ n: number }[]>('SELECT count(*)::int AS n FROM idempotency_keys'))[0]?.n);
  const options = (key: string, amountMinor: bigint): RunIdempotentOptions => ({
    db,
    callerId: 'caller_1',
    key,
    operation: 'audit-keys',
    request: { amountMinor },
    lockTtlMs: 10_000,
    execute: async () => ({ response: { amountMinor: String(amountMinor) } }),
  });

  test('a key with a NUL character is INVALID_INPUT on the key field, not a database error, and writes nothing', async () => {
    const before = await countRows();
    await expect(runIdempotent(options('nul\u0000key', 1n))).rejects.toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'idempotencyKey'] });
    expect(await countRows()).toBe(before);
  });

  test('a key that is not well-formed UTF-16 (a lone surrogate) is INVALID_INPUT, never taken for another such key', async () => {
    const before = await countRows();
    // Both would be stored as "lone" + U+FFFD: two different keys would share one row.
    for (const [key, amountMinor] of [['lone\uD800', 1n], ['lone\uDBFF', 2n]] as const) {
      await expect(runIdempotent(options(key, amountMinor))).rejects.toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'idempotencyKey'] });
    }
    expect(await countRows()).toBe(before);
    // A well-formed astral character (a surrogate pair) is an ordinary key.
    expect(await runIdempotent(options(`pair\uD83D\uDE00-${nextKey()}`, 3n))).toEqual({ response: { amountMinor: '3' }, replayed: false });
  });
});
