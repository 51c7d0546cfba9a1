// dispute.lost@1 → the buyer keeps the money.
import { postDisputeLost } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const disputeLostConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.dispute-lost', eventKey: 'dispute.lost@1', rule: postDisputeLost }, options);
