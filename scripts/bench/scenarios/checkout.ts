// (a) createCheckout through the gateway at fixed rates, then as fast as it goes. Every request
// has its own idempotency key and buyer, 1-3 orders for distinct (new) sellers.
import { bearer, checkoutBody, parseCheckout } from '../graphql';
import { runLoad, type LoadResult } from '../load';
import type { BenchTarget } from '../platform';

export interface CheckoutScenarioOptions {
  readonly rates: readonly number[];
  readonly durationSec: number;
  readonly maxConnections: number;
}

export async function checkoutAtRate(target: BenchTarget, rate: number, durationSec: number, maxConnections: number, label?: string): Promise<LoadResult> {
  return runLoad({
    label: label ?? (rate > 0 ? `(a) createCheckout ${rate}/s` : `(a) createCheckout max`),
    url: target.gatewayUrl,
    headers: bearer(target.platformKey),
    rate,
    connections: maxConnections,
    durationSec,
    body: () => checkoutBody(),
    classify: (status, body) => parseCheckout(status, body).error,
  });
}

/**
 * Before the measured phases: the JIT, connection pools and the gateway's key cache. 20/s for 5 s
 * (100 requests) was too short: at 100/s right after it, every Node process took 25-45 % more CPU
 * per request for the first 4 s than later (the CPU of each process sampled every 0.5 s), and the
 * two cores saturated. After 50/s for 10 s more, the step to 100/s settles within 2 s.
 */
const WARM_UP: readonly { rate: number; seconds: number }[] = [
  { rate: 20, seconds: 5 },
  { rate: 50, seconds: 10 },
];
export const WARM_UP_DESCRIPTION = `warm-up: ${WARM_UP.map((step) => `${step.rate}/s for ${step.seconds} s`).join(', then ')}`;

/** Runs the warm-up; no step is longer than `maxSeconds` (the phases' duration). */
export async function warmUp(target: BenchTarget, maxSeconds: number): Promise<void> {
  for (const step of WARM_UP) await checkoutAtRate(target, step.rate, Math.min(step.seconds, maxSeconds), 8, `warm-up createCheckout ${step.rate}/s`);
}
