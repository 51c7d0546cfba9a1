// order.delivered@1 → the order's net moves from pending to available.
import { walletChangesFor } from '../domain/index.js';
import { walletChangeConsumer } from './wallet-consumer.js';

export const orderDeliveredConsumer = walletChangeConsumer({
  name: 'wallet.order-delivered',
  eventKey: 'order.delivered@1',
  changesOf: (delivery, event) => ({
    changes: walletChangesFor({ type: 'order.delivered', payload: delivery }),
    cause: {
      causationKey: `order_delivered:${delivery.paymentOrderId}`,
      causationEventId: event.messageId,
      correlationId: delivery.paymentId,
      paymentId: delivery.paymentId,
      at: delivery.deliveredAt,
    },
  }),
});
