// dispute.opened@1 → the sellers' held shares (and their dispute fee share) leave their wallets.
import { walletChangesFor } from '../domain/index.js';
import { applyWalletChanges } from '../application/apply-changes.js';
import { walletConsumer } from './wallet-consumer.js';

export const disputeOpenedConsumer = walletConsumer({
  name: 'wallet.dispute-opened',
  eventKey: 'dispute.opened@1',
  apply: (tx, dispute, event) =>
    applyWalletChanges(tx, walletChangesFor({ type: 'dispute.opened', payload: dispute }), {
      causationKey: `dispute_opened:${dispute.disputeId}`,
      causationEventId: event.messageId,
      correlationId: dispute.paymentId,
      paymentId: dispute.paymentId,
      at: dispute.openedAt,
    }),
});
