// refund.reversed@1 → the refund failed at the PSP after it succeeded: the seller's
// pending/available go back up by the producer's split (mirrors the ledger's refund_reversed).
import { walletChangesFor } from '../domain/index.js';
import { walletChangeConsumer } from './wallet-consumer.js';

export const refundReversedConsumer = walletChangeConsumer({
  name: 'wallet.refund-reversed',
  eventKey: 'refund.reversed@1',
  changesOf: (reversal, event) => ({
    changes: walletChangesFor({ type: 'refund.reversed', payload: reversal }),
    cause: {
      causationKey: `refund_reversed:${reversal.refundId}`,
      causationEventId: event.messageId,
      correlationId: reversal.paymentId,
      paymentId: reversal.paymentId,
      at: reversal.reversedAt,
    },
  }),
});
