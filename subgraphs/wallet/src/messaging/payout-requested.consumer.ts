// payout.requested@1 → reserve the amount (available → reserved). A payout the payouts
// subgraph already reserved synchronously (reserve()) is a no-op here.
import { reserveInTx } from '../application/reservations.js';
import { walletConsumer } from './wallet-consumer.js';

export const payoutRequestedConsumer = walletConsumer({
  name: 'wallet.payout-requested',
  eventKey: 'payout.requested@1',
  apply: (tx, payout, event) =>
    reserveInTx(tx, { payoutId: payout.payoutId, sellerId: payout.sellerId, currency: payout.currency, amountMinor: payout.amountMinor, at: payout.requestedAt, causationEventId: event.messageId }),
});
