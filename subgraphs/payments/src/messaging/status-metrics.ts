// `clearhouse_payment_status_changes_total{from, to}`: every payment status change, counted when
// its `payment.status_changed` event is published, i.e. once per committed change whichever use
// case made it (checkout, webhook, re-check, cancel, refund, dispute). The payment success rate is
//   rate(…{to="SUCCEEDED", from!="DISPUTED"}) / rate(…{to=~"SUCCEEDED|FAILED|CANCELED", from!="DISPUTED"}).
import { Counter, type Registry } from 'prom-client';
import { PAYMENT_STATUSES, ROUTING_KEYS, type DomainEvent } from '@clearhouse/shared';

const STATUSES: ReadonlySet<string> = new Set(PAYMENT_STATUSES);

function statusLabel(value: unknown): string {
  return typeof value === 'string' && STATUSES.has(value) ? value : 'unknown';
}

/** Registers the counter; the returned function takes the relay's published events. */
export function paymentStatusMetrics(registry: Registry): (events: readonly DomainEvent<unknown>[]) => void {
  const changes = new Counter({
    name: 'clearhouse_payment_status_changes_total',
    help: 'Payment status changes by from and to status (a refund that keeps the status counts with from = to), counted as their events are published',
    labelNames: ['from', 'to'] as const,
    registers: [registry],
  });
  return (events) => {
    for (const event of events) {
      if (event.type !== ROUTING_KEYS.paymentStatusChanged) continue;
      const payload = event.payload as { from?: unknown; to?: unknown } | null;
      changes.inc({ from: statusLabel(payload?.from), to: statusLabel(payload?.to) });
    }
  };
}
