// A real database handle that counts the statements sent through it: tests show how many round
// trips an operation takes (outside transactions and inside them) without mocking the database.
import type { SqlClient, TransactionalDb } from '../messaging/sql.js';

export interface CountingDatabase extends TransactionalDb {
  /** Statements sent outside transactions. */
  reads: number;
  /** Statements sent inside `$transaction` callbacks. */
  inTransactions: number;
}

/** `inner`, calling `count` before each statement. */
function counted(inner: SqlClient, count: () => void): SqlClient {
  return {
    $queryRawUnsafe<T>(query: string, ...values: unknown[]) {
      count();
      return inner.$queryRawUnsafe<T>(query, ...values);
    },
    $executeRawUnsafe(query: string, ...values: unknown[]) {
      count();
      return inner.$executeRawUnsafe(query, ...values);
    },
  };
}

export function countingDatabase(inner: TransactionalDb): CountingDatabase {
  const outside = counted(inner, () => db.reads++);
  const db: CountingDatabase = {
    reads: 0,
    inTransactions: 0,
    $queryRawUnsafe: (query, ...values) => outside.$queryRawUnsafe(query, ...values),
    $executeRawUnsafe: (query, ...values) => outside.$executeRawUnsafe(query, ...values),
    $transaction: (fn, options) => inner.$transaction((tx) => fn(counted(tx, () => db.inTransactions++)), options),
  };
  return db;
}
