// Applies the wallet changes one event causes, in the caller's transaction: per (seller,
// currency) record the movement (unique per cause: a redelivered or re-published event has no
// second effect), increment the balances in the database, and write wallet.balance_changed@1 (and
// timeline.recorded@1 for payment-related changes) to the outbox in the same transaction.
import type { SqlClient } from '@clearhouse/shared';
import { formatAmount, newEvent, serializeEventPayload, writeOutbox } from '@clearhouse/shared';
import type { WalletChange } from '../domain/index.js';
import { WalletRuleError } from '../domain/index.js';
import { incrementWallet, incrementWalletIfAvailable, insertMovement, type StoredWallet } from '../persistence/wallet-store.js';

export interface ChangeCause {
  /** Unique per cause, like the ledger's reference: 'payment_succeeded:<paymentId>'. */
  readonly causationKey: string;
  /** The message id of the event, when an event caused it. */
  readonly causationEventId?: string;
  /** The payment or payout id. */
  readonly correlationId: string | null;
  /** Set when the change belongs to a payment: it then goes on the payment's timeline. */
  readonly paymentId?: string;
  readonly at: Date;
}

export interface AppliedChange {
  readonly change: WalletChange;
  /** undefined when this cause had already moved this wallet (nothing written). */
  readonly wallet: StoredWallet | undefined;
}

/** Sorted so concurrent multi-seller changes lock wallet rows in one order (no deadlocks). */
function inLockOrder(changes: readonly WalletChange[]): WalletChange[] {
  return [...changes].sort((a, b) => (a.sellerId === b.sellerId ? (a.currency < b.currency ? -1 : 1) : a.sellerId < b.sellerId ? -1 : 1));
}

export async function applyWalletChanges(tx: SqlClient, changes: readonly WalletChange[], cause: ChangeCause): Promise<AppliedChange[]> {
  const applied: AppliedChange[] = [];
  for (const change of inLockOrder(changes)) {
    const fresh = await insertMovement(tx, change, { causationKey: cause.causationKey, correlationId: cause.correlationId, at: cause.at });
    if (!fresh) {
      applied.push({ change, wallet: undefined });
      continue;
    }
    let wallet: StoredWallet | undefined;
    if (change.requiresAvailableMinor === undefined) {
      wallet = await incrementWallet(tx, change);
    } else {
      wallet = await incrementWalletIfAvailable(tx, change, change.requiresAvailableMinor);
      if (wallet === undefined) {
        throw new WalletRuleError('INSUFFICIENT_FUNDS', `${change.sellerId} has less than ${change.requiresAvailableMinor} available in ${change.currency}`, 'amountMinor');
      }
    }
    if (wallet.reservedMinor < 0n) throw new Error(`wallet ${wallet.sellerId}/${wallet.currency} reserved went negative`);
    await announce(tx, change, wallet, cause);
    applied.push({ change, wallet });
  }
  return applied;
}

function signed(amountMinor: bigint, currency: string): string {
  return `${amountMinor < 0n ? '-' : '+'}${formatAmount(amountMinor < 0n ? -amountMinor : amountMinor, currency)}`;
}

async function announce(tx: SqlClient, change: WalletChange, wallet: StoredWallet, cause: ChangeCause): Promise<void> {
  const balanceChanged = serializeEventPayload('wallet.balance_changed@1', {
    sellerId: wallet.sellerId,
    currency: wallet.currency,
    pendingMinor: wallet.pendingMinor,
    availableMinor: wallet.availableMinor,
    reservedMinor: wallet.reservedMinor,
    version: wallet.version,
    ...(cause.causationEventId === undefined ? {} : { causationEventId: cause.causationEventId }),
    at: wallet.updatedAt,
  });
  await writeOutbox(tx, newEvent('wallet.balance_changed', 1, cause.correlationId ?? wallet.sellerId, balanceChanged));
  if (cause.paymentId === undefined) return;
  const { pendingDeltaMinor, availableDeltaMinor, reservedDeltaMinor } = change.delta;
  const parts = [
    pendingDeltaMinor === 0n ? undefined : `pending ${signed(pendingDeltaMinor, wallet.currency)}`,
    availableDeltaMinor === 0n ? undefined : `available ${signed(availableDeltaMinor, wallet.currency)}`,
    reservedDeltaMinor === 0n ? undefined : `reserved ${signed(reservedDeltaMinor, wallet.currency)}`,
  ].filter((part) => part !== undefined);
  const timeline = serializeEventPayload('timeline.recorded@1', {
    paymentId: cause.paymentId,
    source: 'wallet',
    type: 'wallet.balance_changed',
    message: `Wallet of seller ${wallet.sellerId} (${wallet.currency}): ${parts.join(', ')}`,
    data: {
      sellerId: wallet.sellerId,
      currency: wallet.currency,
      kind: change.kind,
      pendingMinor: wallet.pendingMinor.toString(),
      availableMinor: wallet.availableMinor.toString(),
      reservedMinor: wallet.reservedMinor.toString(),
      version: wallet.version,
    },
    at: wallet.updatedAt,
  });
  await writeOutbox(tx, newEvent('timeline.recorded', 1, cause.paymentId, timeline));
}
