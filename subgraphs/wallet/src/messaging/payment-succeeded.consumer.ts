// payment.succeeded@1 → each seller's pending += its orders' net.
import { walletChangesFor } from '../domain/index.js';
import { applyWalletChanges } from '../application/apply-changes.js';
import { walletConsumer } from './wallet-consumer.js';

export const paymentSucceededConsumer = walletConsumer({
  name: 'wallet.payment-succeeded',
  eventKey: 'payment.succeeded@1',
  apply: (tx, payment, event) =>
    applyWalletChanges(tx, walletChangesFor({ type: 'payment.succeeded', payload: payment }), {
      causationKey: `payment_succeeded:${payment.paymentId}`,
      causationEventId: event.messageId,
      correlationId: payment.paymentId,
      paymentId: payment.paymentId,
      at: payment.succeededAt,
    }),
});
