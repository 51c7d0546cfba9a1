// dispute.opened@1 → the sellers' held shares (and their dispute fee share) leave their wallets.
import { walletChangesFor } from '../domain/index.js';
import { walletChangeConsumer } from './wallet-consumer.js';

export const disputeOpenedConsumer = walletChangeConsumer({
  name: 'wallet.dispute-opened',
  eventKey: 'dispute.opened@1',
  changesOf: (dispute, event) => ({
    changes: walletChangesFor({ type: 'dispute.opened', payload: dispute }),
    cause: {
      causationKey: `dispute_opened:${dispute.disputeId}`,
      causationEventId: event.messageId,
      correlationId: dispute.paymentId,
      paymentId: dispute.paymentId,
      at: dispute.openedAt,
    },
  }),
});
