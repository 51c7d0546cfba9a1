// payout.paid@1 → the reservation is consumed (reserved leaves the wallet).
import { consumeInTx } from '../application/reservations.js';
import { walletConsumer } from './wallet-consumer.js';

export const payoutPaidConsumer = walletConsumer({
  name: 'wallet.payout-paid',
  eventKey: 'payout.paid@1',
  apply: (tx, payout, event) =>
    consumeInTx(tx, { payoutId: payout.payoutId, sellerId: payout.sellerId, currency: payout.currency, amountMinor: payout.amountMinor, at: payout.paidAt, causationEventId: event.messageId }),
});
