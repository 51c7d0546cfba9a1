// The only reader of process.env in the payouts subgraph.
import { z } from 'zod';
import { commonEnvShape, idempotencyRetentionEnvShape, messagingRetentionEnvShape, envBigInt, envBoolean, envDurationMs, envInt, envPort, envUrl, loadEnv, parseEnv } from '@clearhouse/shared';
import { parseDestinations } from './domain/destinations.js';
import { parseFxRates } from './domain/fx.js';
import { parseUtcTime } from './jobs/scheduler.js';

const HOUR_MS = 3_600_000;
const DEFAULT_STRIPE_API_KEY = 'sk_test_clearhouse';
const DEFAULT_STRIPE_API_BASE = 'http://localhost:4010';
/** A key Stripe itself issued (long random tail), as opposed to the simulator's placeholder. */
const REAL_STRIPE_KEY_PATTERN = /^sk_(test|live)_[A-Za-z0-9]{24,}$/;

/** A string parsed by `parse`, whose error message becomes the variable's problem. */
function parsedString<T>(defaultValue: string, parse: (text: string) => T) {
  return z
    .string()
    .default(defaultValue)
    .transform((text, ctx) => {
      try {
        return parse(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });
}

export const payoutsEnvShape = {
  ...commonEnvShape,
  ...messagingRetentionEnvShape,
  PAYOUTS_PORT: envPort(4004),
  PAYOUTS_HOST: z.string().default('0.0.0.0'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),

  // --- PSP (Stripe SDK; the simulator by default)
  STRIPE_API_KEY: z.string().min(8).default(DEFAULT_STRIPE_API_KEY),
  /** Unset: the simulator at http://localhost:4010, unless STRIPE_API_KEY is a real Stripe key. */
  STRIPE_API_BASE: z.url().optional(),
  PSP_TIMEOUT_MS: envDurationMs(10_000, { minMs: 100, maxMs: 120_000 }),
  /** Attempts per PSP call inside one delivery (same idempotency key); then the retry tiers. */
  PSP_ATTEMPTS_MAX: envInt(2, { min: 1, max: 10 }),
  PSP_RETRY_BACKOFF_MS: envDurationMs(200, { minMs: 0, maxMs: 60_000 }),

  // --- wallet (signed internal routes: reservations, balances)
  WALLET_INTERNAL_URL: envUrl('http://127.0.0.1:4003', { protocols: ['http:', 'https:'] }),
  WALLET_TIMEOUT_MS: envDurationMs(5_000, { minMs: 100, maxMs: 60_000 }),

  // --- payout rules
  /** Whole major units of the payout's currency (1 → USD 1.00, JPY 1, KWD 1.000). */
  PAYOUT_MINIMUM_MAJOR: envBigInt(1n, { min: 0n, max: 1_000_000n }),
  /** "sellerId=destination[:CUR],..."; others get ba_<sellerId> in their balance currency. */
  PAYOUT_DESTINATIONS: parsedString('', parseDestinations),
  /** "EUR/USD=1.08,...": static rates for payouts to an account in another currency. */
  FX_RATES: parsedString('', parseFxRates),

  // --- re-check of payouts whose webhooks may have been lost
  PAYOUT_RECHECK_INTERVAL_MS: envDurationMs(30_000, { minMs: 100, maxMs: HOUR_MS }),
  PAYOUT_RECHECK_MIN_AGE_MS: envDurationMs(60_000, { minMs: 0, maxMs: 24 * HOUR_MS }),
  PAYOUT_PENDING_REDRIVE_AFTER_MS: envDurationMs(5 * 60_000, { minMs: 0, maxMs: 24 * HOUR_MS }),
  PAYOUT_RECHECK_BATCH_SIZE: envInt(100, { min: 1, max: 1_000 }),

  // --- wallet reservations no payout was saved for (application/release-abandoned-reservations.ts)
  /** A reservation without a payout is released once this old; far longer than any save, and than a request's idempotency lock. */
  RESERVATION_SWEEP_GRACE_MS: envDurationMs(15 * 60_000, { minMs: 5 * 60_000, maxMs: 7 * 24 * HOUR_MS }),
  RESERVATION_SWEEP_INTERVAL_MS: envDurationMs(5 * 60_000, { minMs: 1_000, maxMs: 24 * HOUR_MS }),

  // --- daily payouts
  PAYOUT_SCHEDULE_ENABLED: envBoolean(false),
  PAYOUT_SCHEDULE_UTC_TIME: parsedString('02:00', parseUtcTime),

  // --- retention (published outbox and inbox rows: messagingRetentionEnvShape)
  /** requestPayout's idempotency keys; a key reused after this is checked against its payout. */
  ...idempotencyRetentionEnvShape,
};

export type PayoutsEnv = ReturnType<typeof parsePayoutsEnv>;

export function parsePayoutsEnv(source: Record<string, string | undefined>) {
  return parseEnv(payoutsEnvShape, source);
}

export function loadPayoutsEnv() {
  return loadEnv(payoutsEnvShape);
}

/** Where the Stripe SDK sends requests: null means Stripe itself. */
export function stripeApiBase(env: Pick<PayoutsEnv, 'STRIPE_API_BASE' | 'STRIPE_API_KEY'>): string | null {
  if (env.STRIPE_API_BASE) return env.STRIPE_API_BASE;
  return REAL_STRIPE_KEY_PATTERN.test(env.STRIPE_API_KEY) ? null : DEFAULT_STRIPE_API_BASE;
}
