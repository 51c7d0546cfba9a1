// payout.requested → execute the payout at the PSP (application/execute-payout.ts). The handler's
// transaction holds only this consumer's inbox row while the PSP answers; the PSP call is
// idempotent (`payout:<payoutId>`), so a rollback or redelivery can never pay twice.
import { defineConsumer, payoutRequestedV1, type PayoutRequestedV1 } from '@clearhouse/shared';
import type { PayoutsDeps } from '../application/deps.js';
import { executePayout } from '../application/execute-payout.js';

export const EXECUTE_PAYOUT_CONSUMER = 'payouts.execute-payout';

export function executePayoutConsumer(deps: PayoutsDeps, transactionTimeoutMs: number) {
  return defineConsumer<PayoutRequestedV1>({
    name: EXECUTE_PAYOUT_CONSUMER,
    routingKeys: ['payout.requested'],
    schema: payoutRequestedV1,
    transaction: { timeout: transactionTimeoutMs },
    async handle(event, tx, ctx) {
      const outcome = await executePayout(deps, event.payload.payoutId, (fn) => fn(tx));
      ctx.logger.info({ payoutId: event.payload.payoutId, outcome, attempt: ctx.attempt }, 'payout executed');
    },
  });
}
