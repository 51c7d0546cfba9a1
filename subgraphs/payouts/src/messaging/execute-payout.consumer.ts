// payout.requested → execute the payout at the PSP (application/execute-payout.ts). The PSP call
// runs with no database transaction open (STYLE habit 7); what came of it is written in one
// transaction with this consumer's inbox row. The PSP call is idempotent (`payout:<payoutId>`), so
// a redelivery, or two deliveries at once, can never pay twice.
import { defineConsumer, payoutRequestedV1, type PayoutRequestedV1 } from '@clearhouse/shared';
import type { PayoutsDeps } from '../application/deps.js';
import { executePayout } from '../application/execute-payout.js';

export const EXECUTE_PAYOUT_CONSUMER = 'payouts.execute-payout';

export function executePayoutConsumer(deps: PayoutsDeps) {
  return defineConsumer<PayoutRequestedV1>({
    name: EXECUTE_PAYOUT_CONSUMER,
    routingKeys: ['payout.requested'],
    schema: payoutRequestedV1,
    async handleOutsideTransaction(event, record, ctx) {
      const outcome = await executePayout(deps, event.payload.payoutId, record);
      ctx.logger.info({ payoutId: event.payload.payoutId, outcome, attempt: ctx.attempt }, 'payout executed');
    },
  });
}
