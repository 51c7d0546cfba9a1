// order.delivered@1 → moves the order's net from seller_pending to seller_available.
import { postOrderDelivered } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const orderDeliveredConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.order-delivered', eventKey: 'order.delivered@1', rule: postOrderDelivered }, options);
