import type { Loader, RequestContext, SqlClient } from '@clearhouse/shared';
import { createLoader } from '@clearhouse/shared';
import type { LedgerEnv } from '../env.js';
import { listTransactionsByCorrelations, type TransactionView } from '../persistence/ledger-queries.js';
import type { LedgerPrisma } from '../persistence/prisma.js';

export interface LedgerLoaders {
  /** A payment's (or payout's) journal transactions: the payments of one request in two statements. */
  readonly transactionsByCorrelation: Loader<string, TransactionView[]>;
}

export interface LedgerContext extends RequestContext {
  readonly prisma: LedgerPrisma;
  /** The read side's queries run here (node-postgres); Prisma keeps the reconciliation's typed access. */
  readonly db: SqlClient;
  readonly loaders: LedgerLoaders;
  readonly env: LedgerEnv;
}

export function createLedgerLoaders(db: SqlClient): LedgerLoaders {
  return { transactionsByCorrelation: createLoader((ids) => listTransactionsByCorrelations(db, ids), () => []) };
}
