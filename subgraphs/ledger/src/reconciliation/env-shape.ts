// Configuration of the reconciliation, spread into the ledger's env shape (src/env.ts reads it).
import { z } from 'zod';
import { envBigInt, envBoolean, envDurationMs, envEnum, envInt, envUrl } from '@clearhouse/shared';
import { parseUtcTime } from './application/scheduler.js';

const HOUR_MS = 3_600_000;

export const reconciliationEnvShape = {
  /** The nightly run of the previous UTC day. */
  RECONCILIATION_ENABLED: envBoolean(true),
  /** HH:MM UTC; at or after it the previous day is reconciled once. */
  RECONCILIATION_UTC_TIME: z
    .string()
    .default('03:00')
    .transform((text, ctx) => {
      try {
        return parseUtcTime(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** Where the nightly run reads the PSP day: the balance transactions API or the settlement CSV. */
  RECONCILIATION_SOURCE: envEnum(['api', 'csv'] as const, 'api'),
  /** Settlement CSV URL with {date}; unset: <STRIPE_API_BASE>/__admin/settlements/{date}.csv (the simulator). */
  RECONCILIATION_SETTLEMENT_URL: z.string().optional(),
  RECONCILIATION_CHECK_INTERVAL_MS: envDurationMs(60_000, { minMs: 100, maxMs: HOUR_MS }),
  /** Failed nightly attempts per day before the scheduler waits for the next day. */
  RECONCILIATION_ATTEMPTS_MAX: envInt(3, { min: 1, max: 20 }),
  /** Expected PSP card fee (FEE_MISMATCH when the PSP's differs): bps of the amount half-up, plus a fixed part. */
  RECONCILIATION_PSP_FEE_PERCENT_BPS: envBigInt(290n, { min: 0n, max: 10_000n }),
  RECONCILIATION_PSP_FEE_FIXED_MINOR: envBigInt(30n, { min: 0n, max: 1_000_000n }),
  /** Ledger postings this soon after midnight are not reported MISSING_AT_PSP (their PSP line may be on the day before). */
  RECONCILIATION_BOUNDARY_GRACE_MS: envDurationMs(15 * 60_000, { minMs: 0, maxMs: 6 * HOUR_MS }),
  /** A RUNNING attempt older than this is taken over by the next run. */
  RECONCILIATION_RUN_STALE_AFTER_MS: envDurationMs(HOUR_MS, { minMs: 1_000, maxMs: 24 * HOUR_MS }),
  /** The payments subgraph (its internal replay route lives at the same origin). */
  PAYMENTS_URL: envUrl('http://127.0.0.1:4001/graphql', { protocols: ['http:', 'https:'] }),
  RECONCILIATION_REPLAY_TIMEOUT_MS: envDurationMs(15_000, { minMs: 100, maxMs: 120_000 }),
  // --- PSP (the stripe SDK; the simulator by default, as in payments and payouts)
  STRIPE_API_KEY: z.string().min(8).default('sk_test_clearhouse'),
  /** Unset: the simulator at http://localhost:4010, unless STRIPE_API_KEY is a real Stripe key. */
  STRIPE_API_BASE: z.url().optional(),
  RECONCILIATION_PSP_TIMEOUT_MS: envDurationMs(30_000, { minMs: 100, maxMs: 300_000 }),
};

/** Where the Stripe SDK sends requests: null means Stripe itself. */
export function reconciliationStripeApiBase(env: { STRIPE_API_BASE?: string | undefined; STRIPE_API_KEY: string }): string | null {
  if (env.STRIPE_API_BASE) return env.STRIPE_API_BASE;
  return /^sk_(test|live)_[A-Za-z0-9]{24,}$/.test(env.STRIPE_API_KEY) ? null : 'http://localhost:4010';
}
