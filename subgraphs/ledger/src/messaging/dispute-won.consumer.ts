// dispute.won@1 → disputes_clearing back to the sellers.
import { postDisputeWon } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const disputeWonConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.dispute-won', eventKey: 'dispute.won@1', rule: postDisputeWon }, options);
