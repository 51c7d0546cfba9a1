// The payouts subgraph's consumers, one per file.
import type { ConsumerDefinition } from '@clearhouse/shared';
import type { PayoutsDeps } from '../application/deps.js';
import { executePayoutConsumer } from './execute-payout.consumer.js';
import { pspPayoutUpdatedConsumer } from './psp-payout-updated.consumer.js';

export { EXECUTE_PAYOUT_CONSUMER } from './execute-payout.consumer.js';
export { PSP_PAYOUT_UPDATED_CONSUMER } from './psp-payout-updated.consumer.js';

export function payoutsConsumers(deps: PayoutsDeps): ConsumerDefinition<unknown>[] {
  return [executePayoutConsumer(deps), pspPayoutUpdatedConsumer(deps)] as ConsumerDefinition<unknown>[];
}
