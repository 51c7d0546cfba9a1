// refund.succeeded@1 → the seller's pending/available go down by the producer's split.
import { walletChangesFor } from '../domain/index.js';
import { applyWalletChanges } from '../application/apply-changes.js';
import { walletConsumer } from './wallet-consumer.js';

export const refundSucceededConsumer = walletConsumer({
  name: 'wallet.refund-succeeded',
  eventKey: 'refund.succeeded@1',
  apply: (tx, refund, event) =>
    applyWalletChanges(tx, walletChangesFor({ type: 'refund.succeeded', payload: refund }), {
      causationKey: `refund_succeeded:${refund.refundId}`,
      causationEventId: event.messageId,
      correlationId: refund.paymentId,
      paymentId: refund.paymentId,
      at: refund.refundedAt,
    }),
});
