// payout.paid@1 → DR payouts_in_transit, CR psp_receivable.
import { postPayoutPaid } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const payoutPaidConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.payout-paid', eventKey: 'payout.paid@1', rule: postPayoutPaid }, options);
