// Writes a payout event to the outbox, checked against its versioned schema first.
import { LATEST_EVENT_VERSION, newEvent, serializeEventPayload, writeOutbox, type SqlClient } from '@clearhouse/shared';
import type { PayoutFailedV1, PayoutPaidV1, PayoutRequestedV1 } from '@clearhouse/shared';

type PayoutEvent =
  | { key: 'payout.requested@1'; payload: PayoutRequestedV1 }
  | { key: 'payout.paid@1'; payload: PayoutPaidV1 }
  | { key: 'payout.failed@1'; payload: PayoutFailedV1 };

export async function writePayoutEvent(tx: SqlClient, event: PayoutEvent): Promise<void> {
  const [type] = event.key.split('@') as ['payout.requested' | 'payout.paid' | 'payout.failed'];
  const wire = serializeEventPayload(event.key, event.payload as never);
  await writeOutbox(tx, newEvent(type, LATEST_EVENT_VERSION[type], event.payload.payoutId, wire));
}
