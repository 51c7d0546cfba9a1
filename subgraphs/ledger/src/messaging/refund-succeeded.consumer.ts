// refund.succeeded@1 → CR psp_receivable; DR seller pending/available and the returned fee.
import { postRefundSucceeded } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const refundSucceededConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.refund-succeeded', eventKey: 'refund.succeeded@1', rule: postRefundSucceeded }, options);
