// PSP payout webhooks (`payout.*`) arrive here because payments owns POST /webhooks/stripe; the
// payouts subgraph owns payouts. The payout is re-read from the PSP and its current status is
// forwarded as psp.payout_updated@1 through the outbox, once per webhook event id.
import { newEvent, PSP_PAYOUT_STATUSES, serializeEventPayload, type PspPayoutStatus, type PspPayoutUpdatedV1 } from '@clearhouse/shared';
import type { PspWebhookEvent } from '../psp/port.js';
import type { PaymentsDeps } from './deps.js';

function isPayoutStatus(status: string): status is PspPayoutStatus {
  return (PSP_PAYOUT_STATUSES as readonly string[]).includes(status);
}

export async function forwardPayoutWebhook(deps: PaymentsDeps, event: PspWebhookEvent): Promise<string> {
  if (event.objectType !== 'payout' || !event.objectId) return 'ignored';
  const payout = await deps.psp.retrievePayout(event.objectId);
  if (!isPayoutStatus(payout.status)) {
    deps.logger.warn({ pspPayoutId: payout.pspPayoutId, status: payout.status }, 'payout webhook with an unknown payout status; ignored');
    return 'ignored';
  }
  const status = payout.status;
  const written = await deps.store.transaction(async (tx) => {
    if (!(await tx.markWebhookProcessed(event.id, event.type))) return false;
    const payload: PspPayoutUpdatedV1 = {
      pspEventId: event.id,
      pspPayoutId: payout.pspPayoutId,
      ...(payout.payoutId ? { payoutId: payout.payoutId } : {}),
      status,
      ...(payout.failureCode ? { failureCode: payout.failureCode.slice(0, 200) } : {}),
      ...(payout.failureMessage ? { failureMessage: payout.failureMessage.slice(0, 2000) } : {}),
      occurredAt: new Date(event.createdAtMs),
    };
    await tx.writeEvent(newEvent('psp.payout_updated', 1, payout.payoutId ?? payout.pspPayoutId, serializeEventPayload('psp.payout_updated@1', payload)));
    return true;
  });
  if (!written) return 'duplicate_webhook';
  deps.onOutboxWritten();
  return 'forwarded';
}
