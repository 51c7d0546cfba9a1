// order.delivered@1 → the order's net moves from pending to available.
import { walletChangesFor } from '../domain/index.js';
import { applyWalletChanges } from '../application/apply-changes.js';
import { walletConsumer } from './wallet-consumer.js';

export const orderDeliveredConsumer = walletConsumer({
  name: 'wallet.order-delivered',
  eventKey: 'order.delivered@1',
  apply: (tx, delivery, event) =>
    applyWalletChanges(tx, walletChangesFor({ type: 'order.delivered', payload: delivery }), {
      causationKey: `order_delivered:${delivery.paymentOrderId}`,
      causationEventId: event.messageId,
      correlationId: delivery.paymentId,
      paymentId: delivery.paymentId,
      at: delivery.deliveredAt,
    }),
});
