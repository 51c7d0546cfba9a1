// dispute.lost@1 → the held shares go back to the sellers when the platform bears the loss.
import { walletChangesFor } from '../domain/index.js';
import { applyWalletChanges } from '../application/apply-changes.js';
import { walletConsumer } from './wallet-consumer.js';

export const disputeLostConsumer = walletConsumer({
  name: 'wallet.dispute-lost',
  eventKey: 'dispute.lost@1',
  apply: (tx, dispute, event) =>
    applyWalletChanges(tx, walletChangesFor({ type: 'dispute.lost', payload: dispute }), {
      causationKey: `dispute_lost:${dispute.disputeId}`,
      causationEventId: event.messageId,
      correlationId: dispute.paymentId,
      paymentId: dispute.paymentId,
      at: dispute.lostAt,
    }),
});
