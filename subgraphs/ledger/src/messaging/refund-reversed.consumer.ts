// refund.reversed@1 → the reversal of refund_succeeded:<refundId>: DR psp_receivable; CR the
// seller's pending/available and the returned fee back. Retried while the refund is not posted yet.
import { postRefundReversed } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const refundReversedConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.refund-reversed', eventKey: 'refund.reversed@1', rule: postRefundReversed }, options);
