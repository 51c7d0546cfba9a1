// The kit talks to the database through this structural interface only, so any subgraph's
// generated PrismaClient (and the client Prisma hands to an interactive transaction) fits
// without the kit depending on one schema's generated types.

export interface SqlClient {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}

export type TransactionIsolationLevel = 'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';

export interface TransactionOptions {
  isolationLevel?: TransactionIsolationLevel;
  /** Longest the interactive transaction may stay open before Prisma rolls it back. */
  timeout?: number;
  /** Longest to wait for a pooled connection to start the transaction. */
  maxWait?: number;
}

export interface TransactionalDb extends SqlClient {
  $transaction<R>(fn: (tx: SqlClient) => Promise<R>, options?: TransactionOptions): PromiseLike<R>;
}
