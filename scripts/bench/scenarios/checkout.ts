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

export async function checkoutAtRate(target: BenchTarget, rate: number, durationSec: number, maxConnections: number): Promise<LoadResult> {
  return runLoad({
    label: rate > 0 ? `(a) createCheckout ${rate}/s` : `(a) createCheckout max`,
    url: target.gatewayUrl,
    headers: bearer(target.platformKey),
    rate,
    connections: maxConnections,
    durationSec,
    body: () => checkoutBody(),
    classify: (status, body) => parseCheckout(status, body).error,
  });
}
