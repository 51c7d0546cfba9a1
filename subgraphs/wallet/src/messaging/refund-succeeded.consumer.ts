// refund.succeeded@1 → the seller's pending/available go down by the producer's split.
import { walletChangesFor } from '../domain/index.js';
import { walletChangeConsumer } from './wallet-consumer.js';

export const refundSucceededConsumer = walletChangeConsumer({
  name: 'wallet.refund-succeeded',
  eventKey: 'refund.succeeded@1',
  changesOf: (refund, event) => ({
    changes: walletChangesFor({ type: 'refund.succeeded', payload: refund }),
    cause: {
      causationKey: `refund_succeeded:${refund.refundId}`,
      causationEventId: event.messageId,
      correlationId: refund.paymentId,
      paymentId: refund.paymentId,
      at: refund.refundedAt,
    },
  }),
});
