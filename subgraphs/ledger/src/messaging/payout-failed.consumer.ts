// payout.failed@1 → the mirror of the payout request.
import { postPayoutFailed } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const payoutFailedConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.payout-failed', eventKey: 'payout.failed@1', rule: postPayoutFailed }, options);
