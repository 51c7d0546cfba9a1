// `clearhouse_payout_abandoned_reservations_released_total`: wallet reservations without a payout
// that the sweep (application/release-abandoned-reservations.ts) released, counted in this process
// as the wallet confirms each release (Prometheus sums the instances). Any increase means a payout
// request reserved and then could neither save its payout nor give the amount back itself.
import { Counter, type Registry } from 'prom-client';

/** Registers the counter; the returned function is the sweep's onReleased. */
export function abandonedReservationMetrics(registry: Registry): () => void {
  const released = new Counter({
    name: 'clearhouse_payout_abandoned_reservations_released_total',
    help: 'Wallet reservations no payout was saved for, released by the abandoned-reservation sweep',
    registers: [registry],
  });
  return () => released.inc();
}
