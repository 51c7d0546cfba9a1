// The one place a Stripe client is built: the official SDK against Stripe itself (no apiBase) or
// against a Stripe-compatible server such as our simulator (apiBase, e.g. http://localhost:4010).
import Stripe from 'stripe';

export interface StripeClientOptions {
  readonly apiKey: string;
  /** e.g. http://localhost:4010 (the simulator); null talks to Stripe itself. */
  readonly apiBase: string | null;
  readonly timeoutMs: number;
  /**
   * The SDK's own retries (same idempotency key, with backoff). 0 where the caller retries
   * itself (bounded, logged, aware that Stripe replays a stored 5xx for the same key).
   */
  readonly maxNetworkRetries?: number;
}

export function createStripeClient(options: StripeClientOptions): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : null;
  return new Stripe(options.apiKey, {
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
    timeout: options.timeoutMs,
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    telemetry: false,
  });
}

export { executePspCall, PSP_ATTEMPTS_MAX_LIMIT, type PspCallPolicy, type PspExecution, type PspFailure } from './executor.js';
export { instrumentPsp, pspMetrics, pspOutcomeOf, type PspMetrics } from './metrics.js';
