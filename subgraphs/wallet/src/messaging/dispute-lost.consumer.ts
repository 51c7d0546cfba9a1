// dispute.lost@1 → the held shares go back to the sellers when the platform bears the loss.
import { walletChangesFor } from '../domain/index.js';
import { walletChangeConsumer } from './wallet-consumer.js';

export const disputeLostConsumer = walletChangeConsumer({
  name: 'wallet.dispute-lost',
  eventKey: 'dispute.lost@1',
  changesOf: (dispute, event) => ({
    changes: walletChangesFor({ type: 'dispute.lost', payload: dispute }),
    cause: {
      causationKey: `dispute_lost:${dispute.disputeId}`,
      causationEventId: event.messageId,
      correlationId: dispute.paymentId,
      paymentId: dispute.paymentId,
      at: dispute.lostAt,
    },
  }),
});
