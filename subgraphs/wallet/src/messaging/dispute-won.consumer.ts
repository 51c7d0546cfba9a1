// dispute.won@1 → the held shares go back to the sellers.
import { walletChangesFor } from '../domain/index.js';
import { applyWalletChanges } from '../application/apply-changes.js';
import { walletConsumer } from './wallet-consumer.js';

export const disputeWonConsumer = walletConsumer({
  name: 'wallet.dispute-won',
  eventKey: 'dispute.won@1',
  apply: (tx, dispute, event) =>
    applyWalletChanges(tx, walletChangesFor({ type: 'dispute.won', payload: dispute }), {
      causationKey: `dispute_won:${dispute.disputeId}`,
      causationEventId: event.messageId,
      correlationId: dispute.paymentId,
      paymentId: dispute.paymentId,
      at: dispute.wonAt,
    }),
});
