// The hot paths' database handle: the messaging kit's TransactionalDb (raw SQL, interactive
// transactions) implemented straight on a node-postgres pool. Prisma Client stays for typed CRUD
// and the schema; every statement the kit and the posting/wallet/checkout paths run is raw SQL
// already, and on this path Prisma's query engine cost more CPU than the statements themselves
// (BENCHMARKS.md, "What each change bought"). Results match Prisma's raw results: int8 → bigint,
// timestamps → Date, json → parsed; numeric stays text (callers cast with ::text anyway).
import pg from 'pg';
import type { SqlClient, TransactionalDb, TransactionIsolationLevel, TransactionOptions } from '../messaging/sql.js';

export interface PgDatabaseOptions {
  /** Upper bound on pooled connections. */
  poolMax?: number;
  /** Longest wait for a pooled connection (Prisma's maxWait). */
  connectionTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Application name shown in pg_stat_activity. */
  applicationName?: string;
  /** Told about errors of idle pooled connections (the pool replaces them). */
  onIdleError?: (error: Error) => void;
}

export interface PgDatabase extends TransactionalDb {
  readonly pool: pg.Pool;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $transaction<R>(fn: (tx: SqlClient) => Promise<R>, options?: TransactionOptions): Promise<R>;
  end(): Promise<void>;
}

const TRANSACTION_TIMEOUT_MS_DEFAULT = 5_000;
/** Distinct statement texts that get a server-side prepared statement (per connection). */
const PREPARED_STATEMENTS_MAX = 2_000;
const TRANSACTION_TIMEOUT_MS_MAX = 15 * 60_000;
const INT8_OID = pg.types.builtins.INT8;
// _int8 is not among pg-types' named builtins.
const INT8_ARRAY_OID = 1016 as (typeof pg.types.builtins)[keyof typeof pg.types.builtins];

const ISOLATION_SQL: Record<TransactionIsolationLevel, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

/** Type parsers of this pool only (the global pg.types stay untouched for other code). */
function typeParsers(): pg.CustomTypesConfig {
  const parseBigIntArray = pg.types.getTypeParser(INT8_ARRAY_OID, 'text');
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === INT8_OID) return (value: string) => BigInt(value);
      if (oid === INT8_ARRAY_OID) return (value: string) => (parseBigIntArray(value) as (string | null)[]).map((item) => (item === null ? null : BigInt(item)));
      return pg.types.getTypeParser(oid, format);
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

/** Thrown by a statement issued after the transaction ran past its timeout. */
export class TransactionTimeoutError extends Error {
  override readonly name = 'TransactionTimeoutError';
}

/**
 * Names each distinct statement text, so every pooled connection parses and plans it once and then
 * only binds and executes it (the services issue a few hundred distinct statements, all
 * parameterized). Bounded: texts beyond the cap run unnamed.
 */
function statementNamer(): (text: string, values: unknown[]) => pg.QueryConfig {
  const names = new Map<string, string>();
  return (text, values) => {
    let name = names.get(text);
    if (name === undefined && names.size < PREPARED_STATEMENTS_MAX) {
      name = `ch${names.size + 1}`;
      names.set(text, name);
    }
    return name === undefined ? { text, values } : { name, text, values };
  };
}

function queryable(run: (text: string, values: unknown[]) => Promise<pg.QueryResult>): Pick<PgDatabase, '$queryRawUnsafe' | '$executeRawUnsafe'> {
  return {
    async $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> {
      return (await run(query, values)).rows as T;
    },
    async $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> {
      return (await run(query, values)).rowCount ?? 0;
    },
  };
}

export function createPgDatabase(connectionString: string, options: PgDatabaseOptions = {}): PgDatabase {
  const poolMax = options.poolMax ?? 10;
  if (!Number.isInteger(poolMax) || poolMax < 1 || poolMax > 1000) throw new Error(`poolMax must be an integer in 1..1000, got ${poolMax}`);
  const pool = new pg.Pool({
    connectionString,
    max: poolMax,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    types: typeParsers(),
    ...(options.applicationName ? { application_name: options.applicationName } : {}),
  });
  // A pooled connection the server closes while idle is reported here; without a listener it
  // would crash the process. The pool drops it and opens another on demand.
  pool.on('error', (error) => options.onIdleError?.(error));

  const prepared = statementNamer();
  const outside = queryable((text, values) => pool.query(prepared(text, values)));

  async function transaction<R>(fn: (tx: SqlClient) => Promise<R>, txOptions: TransactionOptions = {}): Promise<R> {
    const timeoutMs = txOptions.timeout ?? TRANSACTION_TIMEOUT_MS_DEFAULT;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > TRANSACTION_TIMEOUT_MS_MAX) throw new Error(`transaction timeout must be 1..${TRANSACTION_TIMEOUT_MS_MAX} ms`);
    const client = await pool.connect();
    let expired = false;
    let broken: Error | undefined;
    // A checked-out connection the server closes between statements emits 'error' on the
    // client (the pool only listens while it is idle): remember it, the next statement fails.
    const onClientError = (error: Error) => {
      broken = error;
    };
    client.on('error', onClientError);
    const timer = setTimeout(() => {
      expired = true;
    }, timeoutMs);
    const tx = queryable(async (text, values) => {
      if (expired) throw new TransactionTimeoutError(`transaction ran past its ${timeoutMs} ms timeout`);
      try {
        return await client.query(prepared(text, values));
      } catch (error) {
        if (!(error as { code?: unknown }).code) broken = error as Error;
        throw error;
      }
    });
    try {
      const isolation = txOptions.isolationLevel ? ` ISOLATION LEVEL ${ISOLATION_SQL[txOptions.isolationLevel]}` : '';
      // One round trip: the statement timeout bounds a statement still running at the deadline.
      await client.query(`BEGIN${isolation}; SET LOCAL statement_timeout = ${timeoutMs}`);
      const result = await fn(tx);
      if (expired) throw new TransactionTimeoutError(`transaction ran past its ${timeoutMs} ms timeout`);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (!broken) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      client.off('error', onClientError);
      // A connection that failed below SQL (socket, protocol) is destroyed, not reused.
      client.release(broken);
    }
  }

  return {
    pool,
    $queryRawUnsafe: outside.$queryRawUnsafe,
    $executeRawUnsafe: outside.$executeRawUnsafe,
    $transaction: transaction,
    end: () => pool.end(),
  };
}

/** A subgraph's hot-path database on its own database of the server, with its idle errors logged. */
export function openServiceDatabase(options: {
  readonly url: string;
  readonly service: string;
  readonly poolMax: number;
  readonly logger: { warn(obj: object, msg?: string): void };
}): PgDatabase {
  return createPgDatabase(options.url, {
    poolMax: options.poolMax,
    applicationName: `clearhouse-${options.service}`,
    onIdleError: (error) => options.logger.warn({ err: error }, 'idle database connection closed by the server'),
  });
}
