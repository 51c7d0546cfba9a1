// Builds the reconciliation's dependencies and PSP sources from the ledger's configuration; used
// by the GraphQL mutation, the nightly scheduler and `npm run reconcile`.
import type { Logger, TransactionalDb } from '@clearhouse/shared';
import type { LedgerEnv } from '../../env.js';
import { createPaymentsReplayer } from '../clients/payments-replay.js';
import type { PspSource } from '../domain/types.js';
import { reconciliationStripeApiBase } from '../env-shape.js';
import { pspDayLoader, type PspDayLoader } from '../ingestion/sources.js';
import { createReconciliationStripe } from '../ingestion/stripe-balance-transactions.js';
import type { ReconciliationDeps } from './run-reconciliation.js';

export function reconciliationDeps(env: LedgerEnv, db: TransactionalDb, logger: Logger, options: { replay?: boolean } = {}): ReconciliationDeps {
  return {
    db,
    logger,
    replayer:
      options.replay === false
        ? null
        : createPaymentsReplayer({ paymentsUrl: env.PAYMENTS_URL, signingSecret: env.INTERNAL_SIGNING_SECRET, timeoutMs: env.RECONCILIATION_REPLAY_TIMEOUT_MS }),
    feeSchedule: { percentBps: env.RECONCILIATION_PSP_FEE_PERCENT_BPS, fixedMinor: env.RECONCILIATION_PSP_FEE_FIXED_MINOR },
    boundaryGraceMs: env.RECONCILIATION_BOUNDARY_GRACE_MS,
    hotAccountShards: env.LEDGER_HOT_ACCOUNT_SHARDS,
    runStaleAfterMs: env.RECONCILIATION_RUN_STALE_AFTER_MS,
  };
}

export function settlementUrlTemplate(env: LedgerEnv): string {
  if (env.RECONCILIATION_SETTLEMENT_URL) return env.RECONCILIATION_SETTLEMENT_URL;
  const base = reconciliationStripeApiBase(env);
  if (base === null) throw new Error('RECONCILIATION_SETTLEMENT_URL is required with the real Stripe API (Stripe has no settlement URL)');
  return `${base.replace(/\/+$/, '')}/__admin/settlements/{date}.csv`;
}

/** The loader for a source: a file path wins for csv; otherwise the configured URL or the API. */
export function reconciliationLoader(env: LedgerEnv, source: PspSource, file?: string): PspDayLoader {
  if (source === 'csv') return pspDayLoader(file === undefined ? { kind: 'csv-url', url: settlementUrlTemplate(env) } : { kind: 'csv-file', path: file });
  const stripe = createReconciliationStripe({ apiKey: env.STRIPE_API_KEY, apiBase: reconciliationStripeApiBase(env), timeoutMs: env.RECONCILIATION_PSP_TIMEOUT_MS });
  return pspDayLoader({ kind: 'api', stripe });
}
