// The only reader of process.env in the payments subgraph.
import { z } from 'zod';
import { commonEnvShape, idempotencyRetentionEnvShape, messagingRetentionEnvShape, DISPUTE_FEE_BEARERS, DISPUTE_LOSS_BEARERS, envBigInt, envDurationMs, envEnum, envInt, envPort, loadEnv, parseEnv, REFUND_FEE_POLICIES } from '@clearhouse/shared';

const HOUR_MS = 3_600_000;
const DEFAULT_STRIPE_API_KEY = 'sk_test_clearhouse';
const DEFAULT_STRIPE_API_BASE = 'http://localhost:4010';
/** A key Stripe itself issued (long random tail), as opposed to the simulator's placeholder. */
const REAL_STRIPE_KEY_PATTERN = /^sk_(test|live)_[A-Za-z0-9]{24,}$/;

const idList = z
  .string()
  .default('')
  .transform((text) => new Set(text.split(',').map((id) => id.trim()).filter((id) => id.length > 0)));

export const paymentsEnvShape = {
  ...commonEnvShape,
  ...messagingRetentionEnvShape,
  PAYMENTS_PORT: envPort(4001),
  PAYMENTS_HOST: z.string().default('0.0.0.0'),
  /** Development keys ensured at start-up outside production (CONTRACT.md, "Authentication"). */
  CLEARHOUSE_PLATFORM_KEY: z.string().min(8).max(256).default('dev_platform_key'),
  CLEARHOUSE_OPS_KEY: z.string().min(8).max(256).default('dev_ops_key'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),

  // --- PSP (Stripe SDK; the simulator by default)
  STRIPE_API_KEY: z.string().min(8).default(DEFAULT_STRIPE_API_KEY),
  /** Unset: the simulator at http://localhost:4010, unless STRIPE_API_KEY is a real Stripe key. */
  STRIPE_API_BASE: z.url().optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).default('whsec_dev'),
  /** Per PSP request, before it counts as a timeout. */
  PSP_TIMEOUT_MS: envDurationMs(10_000, { minMs: 100, maxMs: 120_000 }),
  /** Attempts per PSP call (same idempotency key), then PSP_UNAVAILABLE. */
  PSP_ATTEMPTS_MAX: envInt(3, { min: 1, max: 10 }),
  PSP_RETRY_BACKOFF_MS: envDurationMs(200, { minMs: 0, maxMs: 60_000 }),

  // --- platform fee per order: percent rounded half-up to the minor unit, plus a fixed part
  PLATFORM_FEE_PERCENT_BPS: envBigInt(290n, { min: 0n, max: 10_000n }),
  PLATFORM_FEE_FIXED_MINOR: envBigInt(0n, { min: 0n, max: 1_000_000n }),

  // --- risk rules (RISK_REJECTED)
  RISK_PAYMENT_AMOUNT_MAJOR_MAX: envBigInt(100_000n, { min: 1n, max: 1_000_000_000n }),
  RISK_BUYER_PAYMENTS_PER_WINDOW_MAX: envInt(100, { min: 1, max: 1_000_000 }),
  RISK_BUYER_VELOCITY_WINDOW_MS: envDurationMs(HOUR_MS, { minMs: 1_000, maxMs: 30 * 24 * HOUR_MS }),
  /** Comma-separated ids. */
  RISK_BLOCKED_BUYER_IDS: idList,
  RISK_BLOCKED_SELLER_IDS: idList,

  // --- re-check of payments whose webhooks may have been lost
  PAYMENT_RECHECK_INTERVAL_MS: envDurationMs(30_000, { minMs: 100, maxMs: HOUR_MS }),
  /** A payment is first re-checked this long after its last change; then at half its age, up to the max. */
  PAYMENT_RECHECK_MIN_AGE_MS: envDurationMs(60_000, { minMs: 0, maxMs: 24 * HOUR_MS }),
  PAYMENT_RECHECK_DELAY_MS_MAX: envDurationMs(15 * 60_000, { minMs: 1_000, maxMs: 24 * HOUR_MS }),
  PAYMENT_RECHECK_BATCH_SIZE: envInt(100, { min: 1, max: 1_000 }),
  /**
   * A payment left CREATED by a checkout whose PSP registration failed, and not retried by its
   * client, is canceled this long after its creation (checked every CLEANUP_INTERVAL_MS).
   */
  PAYMENT_REGISTRATION_ABANDON_MS: envDurationMs(25 * HOUR_MS, { minMs: HOUR_MS, maxMs: 30 * 24 * HOUR_MS }),

  // --- after-sale (delivery, refunds, disputes)
  /** How long after confirmDelivery the seller's net becomes payable (order.delivered@1). 0: at once. */
  DELIVERY_HOLD_MS: envDurationMs(0, { minMs: 0, maxMs: 90 * 24 * HOUR_MS }),
  /** How often the job looks for deliveries whose hold has passed, and how many it releases per run. */
  DELIVERY_RELEASE_INTERVAL_MS: envDurationMs(5_000, { minMs: 100, maxMs: HOUR_MS }),
  DELIVERY_RELEASE_BATCH_SIZE: envInt(100, { min: 1, max: 1_000 }),
  /** Who bears the platform fee of a refunded order (shared/src/events/policies.ts). */
  REFUND_FEE_POLICY: envEnum(REFUND_FEE_POLICIES, 'platform_keeps_fee'),
  /** Who pays the PSP's dispute fee, and who bears a lost dispute. */
  DISPUTE_FEE_BORNE_BY: envEnum(DISPUTE_FEE_BEARERS, 'platform'),
  DISPUTE_LOSS_BORNE_BY: envEnum(DISPUTE_LOSS_BEARERS, 'seller'),

  // --- retention
  ...idempotencyRetentionEnvShape,
  WEBHOOK_EVENT_RETENTION_MS: envDurationMs(72 * HOUR_MS, { minMs: 72 * HOUR_MS, maxMs: 90 * 24 * HOUR_MS }),
};

export type PaymentsEnv = ReturnType<typeof parsePaymentsEnv>;

export function parsePaymentsEnv(source: Record<string, string | undefined>) {
  return parseEnv(paymentsEnvShape, source);
}

export function loadPaymentsEnv() {
  return loadEnv(paymentsEnvShape);
}

/** Where the Stripe SDK sends requests: null means Stripe itself. */
export function stripeApiBase(env: Pick<PaymentsEnv, 'STRIPE_API_BASE' | 'STRIPE_API_KEY'>): string | null {
  if (env.STRIPE_API_BASE) return env.STRIPE_API_BASE;
  return REAL_STRIPE_KEY_PATTERN.test(env.STRIPE_API_KEY) ? null : DEFAULT_STRIPE_API_BASE;
}
