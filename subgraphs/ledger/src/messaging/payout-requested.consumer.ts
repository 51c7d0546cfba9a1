// payout.requested@1 → DR seller_available, CR payouts_in_transit (FX through fx_clearing).
import { postPayoutRequested } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const payoutRequestedConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.payout-requested', eventKey: 'payout.requested@1', rule: postPayoutRequested }, options);
