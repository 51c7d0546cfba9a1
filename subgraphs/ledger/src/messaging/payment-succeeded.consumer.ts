// payment.succeeded@1 → DR psp_receivable, CR seller_pending per order, CR platform_fee_revenue.
import { postPaymentSucceeded } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const paymentSucceededConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.payment-succeeded', eventKey: 'payment.succeeded@1', rule: postPaymentSucceeded }, options);
