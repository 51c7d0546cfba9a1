// dispute.opened@1 → sellers' shares into disputes_clearing, dispute fee.
import { postDisputeOpened } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const disputeOpenedConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.dispute-opened', eventKey: 'dispute.opened@1', rule: postDisputeOpened }, options);
