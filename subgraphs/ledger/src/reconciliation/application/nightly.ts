// Wiring of the nightly job for the ledger's composition root (app.ts): [] when disabled.
import type { Logger, Stoppable, TransactionalDb } from '@clearhouse/shared';
import type { LedgerEnv } from '../../env.js';
import { runReconciliation } from './run-reconciliation.js';
import { startReconciliationScheduler } from './scheduler.js';
import { reconciliationDeps, reconciliationLoader } from './service.js';

export function startNightlyReconciliation(env: LedgerEnv, db: TransactionalDb, logger: Logger): Stoppable[] {
  if (!env.RECONCILIATION_ENABLED) return [];
  const source = env.RECONCILIATION_SOURCE;
  return [
    startReconciliationScheduler({
      db,
      logger,
      source,
      time: env.RECONCILIATION_UTC_TIME,
      checkIntervalMs: env.RECONCILIATION_CHECK_INTERVAL_MS,
      attemptsMax: env.RECONCILIATION_ATTEMPTS_MAX,
      run: (day) => runReconciliation(reconciliationDeps(env, db, logger), day, reconciliationLoader(env, source)),
    }),
  ];
}
