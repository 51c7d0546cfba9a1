import { Pool } from 'pg';
import { DomainError } from '../errors/index.js';
import type { SqlClient } from '../messaging/sql.js';
import { createTestDatabase, type TestDatabase } from '../testkit/database.js';
import { deleteExpiredIdempotencyKeys, hashRequest, runIdempotent, type JsonValue, type RunIdempotentOptions } from './idempotency.js';

let database: TestDatabase;
let pool: Pool;
let db: SqlClient;

// Any subgraph database has the idempotency_keys table; plain pg stands in for its Prisma client.
beforeAll(async () => {
  database = await createTestDatabase('payments');
  pool = new Pool({ connectionString: database.url, max: 60 });
  // pool.end() resolves once it has asked its connections to close, not once the server has
  // closed them; the DROP … WITH (FORCE) in afterAll then terminates any still open, and pg
  // re-emits that on the pool. Like every pool of the services, this one handles it.
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
function options(overrides: Partial<RunIdempotentOptions> = {}): RunIdempotentOptions {
  keyCounter += 1;
  return {
    db,
    callerId: 'caller_1',
    key: `key-${keyCounter}`,
    operation: 'test',
    request: { amountMinor: 100n, currency: 'USD' },
    lockTtlMs: 10_000,
    execute: async () => ({ response: { ok: true } }),
    ...overrides,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'none';
  } catch (error) {
    return error instanceof DomainError ? error.code : `unexpected: ${String(error)}`;
  }
}

describe('hashRequest', () => {
  test('ignores key order and undefined fields, distinguishes values and operations', () => {
    expect(hashRequest('op', { a: 1, b: [1, 2], c: undefined })).toBe(hashRequest('op', { b: [1, 2], a: 1 }));
    expect(hashRequest('op', { a: 1n })).not.toBe(hashRequest('op', { a: 2n }));
    expect(hashRequest('op', { a: 1n })).not.toBe(hashRequest('other', { a: 1n }));
    expect(hashRequest('op', { a: 1n })).not.toBe(hashRequest('op', { a: '1' }));
  });
});

describe('runIdempotent', () => {
  test('first call runs; the same key and input replays the stored response', async () => {
    let runs = 0;
    const base = options({ execute: async () => ({ response: { paymentId: `p${++runs}` } }) });
    expect(await runIdempotent(base)).toEqual({ response: { paymentId: 'p1' }, replayed: false });
    expect(await runIdempotent({ ...base, request: { currency: 'USD', amountMinor: 100n } })).toEqual({ response: { paymentId: 'p1' }, replayed: true });
    expect(runs).toBe(1);
  });

  test('the same key with another input → IDEMPOTENCY_KEY_REUSED; another caller has its own keys', async () => {
    const base = options();
    await runIdempotent(base);
    expect(await codeOf(runIdempotent({ ...base, request: { amountMinor: 101n, currency: 'USD' } }))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await codeOf(runIdempotent({ ...base, operation: 'other' }))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await runIdempotent({ ...base, callerId: 'caller_2' })).replayed).toBe(false);
  });

  test('while the first run holds the key → IDEMPOTENCY_KEY_IN_USE', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const base = options({ execute: async () => (await gate, { response: 'done' }) });
    const first = runIdempotent(base);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await codeOf(runIdempotent(base))).toBe('IDEMPOTENCY_KEY_IN_USE');
    release();
    expect(await first).toEqual({ response: 'done', replayed: false });
    expect(await runIdempotent(base)).toEqual({ response: 'done', replayed: true });
  });

  test('a retryable failure releases the key; the retry runs again as a takeover', async () => {
    const takeovers: boolean[] = [];
    let calls = 0;
    const base = options({
      execute: async ({ takeover }): Promise<{ response: JsonValue; retryable?: boolean }> => {
        takeovers.push(takeover);
        calls += 1;
        if (calls === 1) return { response: { error: 'PSP_UNAVAILABLE' }, retryable: true };
        return { response: { paymentId: 'p' } };
      },
    });
    expect(await runIdempotent(base)).toEqual({ response: { error: 'PSP_UNAVAILABLE' }, replayed: false });
    expect(await runIdempotent(base)).toEqual({ response: { paymentId: 'p' }, replayed: false });
    expect(await runIdempotent(base)).toEqual({ response: { paymentId: 'p' }, replayed: true });
    expect(takeovers).toEqual([false, true]);
  });

  test('a throwing run releases the key and rethrows', async () => {
    const base = options({ execute: async () => Promise.reject(new Error('boom')) });
    await expect(runIdempotent(base)).rejects.toThrow('boom');
    expect(await runIdempotent({ ...base, execute: async () => ({ response: 1 }) })).toEqual({ response: 1, replayed: false });
  });

  test('an operation may store its response in its own transaction: committed → replayed; rolled back → released', async () => {
    async function inTransaction(work: (tx: SqlClient) => Promise<void>, commit: boolean): Promise<void> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const tx: SqlClient = {
          $executeRawUnsafe: async (query: string, ...values: unknown[]) => (await client.query(query, values)).rowCount ?? 0,
          $queryRawUnsafe: async <T,>(query: string, ...values: unknown[]) => (await client.query(query, values)).rows as T,
        };
        await work(tx);
        await client.query(commit ? 'COMMIT' : 'ROLLBACK');
      } finally {
        client.release();
      }
    }
    const statusOf = async (key: string) =>
      (await db.$queryRawUnsafe<{ status: string; response: JsonValue }[]>('SELECT status, response FROM idempotency_keys WHERE caller_id = $1 AND key = $2', 'caller_1', key))[0];

    const committed = options({
      execute: async (context) => {
        await inTransaction((tx) => context.complete(tx, { paymentId: 'in-tx' }), true);
        return { response: { paymentId: 'in-tx' }, completed: true };
      },
    });
    expect(await runIdempotent(committed)).toEqual({ response: { paymentId: 'in-tx' }, replayed: false });
    expect(await statusOf(committed.key)).toEqual({ status: 'completed', response: { paymentId: 'in-tx' } });
    expect(await runIdempotent({ ...committed, execute: async () => ({ response: 'must not run' }) })).toEqual({ response: { paymentId: 'in-tx' }, replayed: true });

    const rolledBack = options({
      execute: async (context) => {
        await inTransaction((tx) => context.complete(tx, { paymentId: 'lost' }), false);
        throw new Error('the work failed after completing in its transaction');
      },
    });
    await expect(runIdempotent(rolledBack)).rejects.toThrow('the work failed');
    expect(await statusOf(rolledBack.key)).toEqual({ status: 'released', response: null });
    expect(await codeOf(runIdempotent({ ...rolledBack, execute: async () => ({ response: 1, completed: true, retryable: true }) }))).toBe(
      'unexpected: Error: runIdempotent: an operation cannot be both completed and retryable',
    );
  });

  test('an expired lock (a crashed holder) may be taken over', async () => {
    const base = options({ lockTtlMs: 1_000 });
    await db.$executeRawUnsafe(
      `INSERT INTO idempotency_keys (caller_id, key, operation, request_hash, status, locked_until) VALUES ($1, $2, $3, $4, 'in_progress', now() - interval '1 second')`,
      base.callerId,
      base.key,
      base.operation,
      hashRequest(base.operation, base.request),
    );
    expect(await runIdempotent(base)).toEqual({ response: { ok: true }, replayed: false });
  });

  test('50 concurrent identical calls: exactly one execution, the others in use or replayed', async () => {
    let executions = 0;
    const base = options({
      execute: async () => {
        executions += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
        return { response: { id: 'only' } };
      },
    });
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, () => runIdempotent(base)));
    expect(executions).toBe(1);
    const fresh = outcomes.filter((o) => o.status === 'fulfilled' && !o.value.replayed);
    expect(fresh).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect((outcome.reason as DomainError).code).toBe('IDEMPOTENCY_KEY_IN_USE');
      else expect(outcome.value.response).toEqual({ id: 'only' });
    }
  });

  test('concurrent takeovers of a released key: one runs', async () => {
    let executions = 0;
    const base = options({ execute: async () => ({ response: 'x', retryable: true }) });
    await runIdempotent(base);
    const slow = { ...base, execute: async () => (executions++, await new Promise((r) => setTimeout(r, 100)), { response: 'y' }) };
    await Promise.allSettled(Array.from({ length: 20 }, () => runIdempotent(slow)));
    expect(executions).toBe(1);
  });

  test('rejects keys outside 1-255 characters', async () => {
    expect(await codeOf(runIdempotent(options({ key: '' })))).toBe('INVALID_INPUT');
    expect(await codeOf(runIdempotent(options({ key: 'k'.repeat(256) })))).toBe('INVALID_INPUT');
  });
});

describe('deleteExpiredIdempotencyKeys', () => {
  test('deletes only finished keys older than the retention', async () => {
    const old = options();
    await runIdempotent(old);
    await db.$executeRawUnsafe(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, old.key);
    const fresh = options();
    await runIdempotent(fresh);
    const deleted = await deleteExpiredIdempotencyKeys(db, 24 * 3600_000);
    expect(deleted).toBe(1);
    expect((await runIdempotent(fresh)).replayed).toBe(true);
    expect((await runIdempotent(old)).replayed).toBe(false);
    await expect(deleteExpiredIdempotencyKeys(db, 1000)).rejects.toThrow('24 hours');
  });
});

// What a refused or a stale run leaves behind in the key row.
function nextKey(): string {
  keyCounter += 1;
  return `audit-key-${keyCounter}-${Date.now()}`;
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
