// dispute.won@1 → the held shares go back to the sellers.
import { walletChangesFor } from '../domain/index.js';
import { walletChangeConsumer } from './wallet-consumer.js';

export const disputeWonConsumer = walletChangeConsumer({
  name: 'wallet.dispute-won',
  eventKey: 'dispute.won@1',
  changesOf: (dispute, event) => ({
    changes: walletChangesFor({ type: 'dispute.won', payload: dispute }),
    cause: {
      causationKey: `dispute_won:${dispute.disputeId}`,
      causationEventId: event.messageId,
      correlationId: dispute.paymentId,
      paymentId: dispute.paymentId,
      at: dispute.wonAt,
    },
  }),
});
