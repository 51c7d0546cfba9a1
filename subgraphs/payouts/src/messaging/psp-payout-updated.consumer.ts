// psp.payout_updated (a PSP payout webhook, relayed by payments) → confirm the payout.
import { defineConsumer, pspPayoutUpdatedV1, type PspPayoutUpdatedV1 } from '@clearhouse/shared';
import { applyPspPayoutReport } from '../application/confirm-payout.js';
import type { PayoutsDeps } from '../application/deps.js';

export const PSP_PAYOUT_UPDATED_CONSUMER = 'payouts.psp-payout-updated';

export function pspPayoutUpdatedConsumer(deps: PayoutsDeps) {
  return defineConsumer<PspPayoutUpdatedV1>({
    name: PSP_PAYOUT_UPDATED_CONSUMER,
    routingKeys: ['psp.payout_updated'],
    schema: pspPayoutUpdatedV1,
    async handle(event, tx, ctx) {
      const report = event.payload;
      const outcome = await applyPspPayoutReport(deps, tx, {
        pspPayoutId: report.pspPayoutId,
        payoutId: report.payoutId ?? null,
        status: report.status,
        failureCode: report.failureCode ?? null,
        failureMessage: report.failureMessage ?? null,
        at: report.occurredAt,
      });
      // 'unknown': a payout made outside Clearhouse (e.g. in the PSP's dashboard); nothing to do.
      ctx.logger.info({ pspPayoutId: report.pspPayoutId, payoutId: report.payoutId, status: report.status, outcome }, 'PSP payout update applied');
    },
  });
}
