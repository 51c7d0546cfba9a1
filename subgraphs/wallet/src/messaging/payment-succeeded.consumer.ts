// payment.succeeded@1 → each seller's pending += its orders' net.
import { walletChangesFor } from '../domain/index.js';
import { walletChangeConsumer } from './wallet-consumer.js';

export const paymentSucceededConsumer = walletChangeConsumer({
  name: 'wallet.payment-succeeded',
  eventKey: 'payment.succeeded@1',
  changesOf: (payment, event) => ({
    changes: walletChangesFor({ type: 'payment.succeeded', payload: payment }),
    cause: {
      causationKey: `payment_succeeded:${payment.paymentId}`,
      causationEventId: event.messageId,
      correlationId: payment.paymentId,
      paymentId: payment.paymentId,
      at: payment.succeededAt,
    },
  }),
});
