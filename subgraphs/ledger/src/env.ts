// The only reader of process.env in the ledger subgraph.
import { z } from 'zod';
import { commonEnvShape, idempotencyRetentionEnvShape, messagingRetentionEnvShape, envPort, loadEnv, parseEnv } from '@clearhouse/shared';
import { reconciliationEnvShape } from './reconciliation/env-shape.js';

export const ledgerEnvShape = {
  ...commonEnvShape,
  ...messagingRetentionEnvShape,
  LEDGER_PORT: envPort(4002),
  LEDGER_HOST: z.string().default('0.0.0.0'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** Sub-accounts per hot account (psp_receivable, platform_fee_revenue, ...); 1 = no split. */
  LEDGER_HOT_ACCOUNT_SHARDS: z.coerce.number().int().min(1).max(64).default(8),
  /** Messages in flight per consumer. */
  LEDGER_CONSUMER_PREFETCH: z.coerce.number().int().min(1).max(500).default(250),
  /** Idempotency keys of runReconciliation / resolveDiscrepancy (published outbox, inbox: messagingRetentionEnvShape). */
  ...idempotencyRetentionEnvShape,
  ...reconciliationEnvShape,
};

export type LedgerEnv = ReturnType<typeof parseLedgerEnv>;

export function parseLedgerEnv(source: Record<string, string | undefined>) {
  return parseEnv(ledgerEnvShape, source);
}

export function loadLedgerEnv() {
  return loadEnv(ledgerEnvShape);
}
