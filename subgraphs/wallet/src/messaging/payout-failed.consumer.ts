// payout.failed@1 → the reservation is released (reserved → available).
import { releaseInTx } from '../application/reservations.js';
import { walletConsumer } from './wallet-consumer.js';

export const payoutFailedConsumer = walletConsumer({
  name: 'wallet.payout-failed',
  eventKey: 'payout.failed@1',
  apply: (tx, payout, event) =>
    releaseInTx(tx, { payoutId: payout.payoutId, sellerId: payout.sellerId, currency: payout.currency, amountMinor: payout.amountMinor, at: payout.failedAt, causationEventId: event.messageId }),
});
