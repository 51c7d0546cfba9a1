// Applies wallet changes in the caller's transaction: per (seller, currency) change record the
// movement (unique per cause: a redelivered or re-published event has no second effect),
// increment the balances in the database, and write wallet.balance_changed@1 per change (and one
// timeline.recorded@2 per payment-related cause, an entry per change) to the outbox in the same
// transaction.
//
// Set-based: the changes of any number of causes (one event, or a consumer's whole batch) take
// four statements, however many there are: the movements (RETURNING says which are new), the
// missing wallets, one UPDATE adding each wallet's summed deltas (rows locked in (seller,
// currency) order, so concurrent batches cannot deadlock), and the outbox rows. Each event still
// carries the balance and version its wallet had right after that change, exactly as if the
// changes had been applied one by one: the UPDATE returns the final balance and version under the
// row lock, and the steps in between are replayed in memory. A change that needs available funds
// (a payout reservation) is decided by a conditional UPDATE under the row lock, so any batch that
// holds one is applied one change at a time instead.
import { randomUUID } from 'node:crypto';
import type { DomainEvent, SqlClient, TimelineEntry } from '@clearhouse/shared';
import { formatAmount, newEvent, serializeEventPayload, writeOutbox, writeOutboxBatch } from '@clearhouse/shared';
import type { WalletChange, WalletDelta } from '../domain/index.js';
import { WalletRuleError, addDeltas, balancesAlong, ZERO_DELTA } from '../domain/index.js';
import {
  compareWalletKeys,
  incrementWallet,
  incrementWalletIfAvailable,
  incrementWallets,
  insertMovement,
  insertMovements,
  type MovementRow,
  type StoredWallet,
  type WalletKey,
} from '../persistence/wallet-store.js';

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

/** The changes one cause (one event) makes. */
export interface CausedChanges {
  readonly changes: readonly WalletChange[];
  readonly cause: ChangeCause;
}

export interface AppliedChange {
  readonly change: WalletChange;
  /** undefined when this cause had already moved this wallet (nothing written). */
  readonly wallet: StoredWallet | undefined;
}

/** Sorted so concurrent multi-seller changes lock wallet rows in one order (no deadlocks). */
function inLockOrder(changes: readonly WalletChange[]): WalletChange[] {
  return [...changes].sort(compareWalletKeys);
}

/** The changes one cause makes; the result lists them in lock order (seller, currency). */
export async function applyWalletChanges(tx: SqlClient, changes: readonly WalletChange[], cause: ChangeCause): Promise<AppliedChange[]> {
  const [applied] = await applyWalletChangeBatch(tx, [{ changes, cause }]);
  return applied ?? [];
}

/**
 * The changes of several causes, with the effect of applyWalletChanges on each in turn: one
 * result per cause, in the order given.
 */
export async function applyWalletChangeBatch(tx: SqlClient, batch: readonly CausedChanges[]): Promise<AppliedChange[][]> {
  if (batch.some((item) => item.changes.some((change) => change.requiresAvailableMinor !== undefined))) {
    const applied: AppliedChange[][] = [];
    for (const item of batch) applied.push(await applyWalletChangesOneByOne(tx, item.changes, item.cause));
    return applied;
  }
  return applySetBased(tx, batch);
}

/**
 * One change at a time, five statements each: the reference behaviour the set-based path must
 * match, and the path for changes that need available funds (checked under the row lock).
 */
export async function applyWalletChangesOneByOne(tx: SqlClient, changes: readonly WalletChange[], cause: ChangeCause): Promise<AppliedChange[]> {
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
    assertReservedNotNegative(wallet);
    await writeOutbox(tx, balanceChanged(wallet, cause));
    applied.push({ change, wallet });
  }
  const timeline = timelineOf(applied, cause);
  if (timeline) await writeOutbox(tx, timeline);
  return applied;
}

function assertReservedNotNegative(wallet: StoredWallet): void {
  if (wallet.reservedMinor < 0n) throw new Error(`wallet ${wallet.sellerId}/${wallet.currency} reserved went negative`);
}

/** A wallet's fresh changes in this batch, in the order they are applied. */
interface WalletChanges {
  readonly key: WalletKey;
  readonly deltas: WalletDelta[];
  /** The wallet after each of `deltas`; filled once the UPDATE returned. */
  after: StoredWallet[];
}

// Separators cannot occur in ids: PostgreSQL text cannot hold NUL.
function walletKeyOf(change: WalletKey): string {
  return `${change.sellerId}\u0000${change.currency}`;
}

function movementKeyOf(change: WalletChange, cause: ChangeCause): string {
  return `${cause.causationKey}\u0000${change.kind}\u0000${change.sellerId}\u0000${change.currency}`;
}

async function applySetBased(tx: SqlClient, batch: readonly CausedChanges[]): Promise<AppliedChange[][]> {
  const planned = batch.map((item) => ({ cause: item.cause, changes: inLockOrder(item.changes) }));

  // 1. The movements. A key met earlier in this batch is a redelivery just like one stored by an
  //    earlier transaction: it gets no row (and so no effect); the database says which are new.
  const seenMovementKeys = new Set<string>();
  const movements: MovementRow[] = [];
  const movementIds = planned.map(({ cause, changes }) =>
    changes.map((change) => {
      const key = movementKeyOf(change, cause);
      if (seenMovementKeys.has(key)) return undefined;
      seenMovementKeys.add(key);
      const id = randomUUID();
      movements.push({ id, change, record: { causationKey: cause.causationKey, correlationId: cause.correlationId, at: cause.at } });
      return id;
    }),
  );
  const fresh = await insertMovements(tx, movements);
  const isFresh = (itemIndex: number, changeIndex: number): boolean => {
    const id = movementIds[itemIndex]?.[changeIndex];
    return id !== undefined && fresh.has(id);
  };

  // 2. Per wallet, its fresh changes in batch order; one UPDATE adds their sums.
  const byWallet = new Map<string, WalletChanges>();
  planned.forEach(({ changes }, itemIndex) =>
    changes.forEach((change, changeIndex) => {
      if (!isFresh(itemIndex, changeIndex)) return;
      const key = walletKeyOf(change);
      let entry = byWallet.get(key);
      if (entry === undefined) {
        entry = { key: { sellerId: change.sellerId, currency: change.currency }, deltas: [], after: [] };
        byWallet.set(key, entry);
      }
      entry.deltas.push(change.delta);
    }),
  );
  if (byWallet.size === 0) return planned.map(({ changes }) => changes.map((change) => ({ change, wallet: undefined })));
  const updated = await incrementWallets(
    tx,
    [...byWallet.values()].map(({ key, deltas }) => ({ ...key, delta: deltas.reduce(addDeltas, ZERO_DELTA), changeCount: deltas.length })),
  );

  // 3. Each step's balance and version, replayed from the final row (held under its lock).
  for (const wallet of updated) {
    const entry = byWallet.get(walletKeyOf(wallet));
    if (entry === undefined) throw new Error(`wallet ${wallet.sellerId}/${wallet.currency} was updated but not asked for`);
    const versionBefore = wallet.version - entry.deltas.length;
    if (versionBefore < 0) throw new Error(`wallet ${wallet.sellerId}/${wallet.currency} version ${wallet.version} is below its ${entry.deltas.length} changes`);
    entry.after = balancesAlong(wallet, entry.deltas).map((balance, index) => ({ ...wallet, ...balance, version: versionBefore + index + 1 }));
    entry.after.forEach(assertReservedNotNegative);
  }

  // 4. The results and the events, in the order the changes would have been applied one by one.
  const stepOf = new Map<string, number>();
  const events: DomainEvent<unknown>[] = [];
  const applied = planned.map(({ cause, changes }, itemIndex) => {
    const results = changes.map((change, changeIndex): AppliedChange => {
      if (!isFresh(itemIndex, changeIndex)) return { change, wallet: undefined };
      const key = walletKeyOf(change);
      const step = stepOf.get(key) ?? 0;
      stepOf.set(key, step + 1);
      const wallet = byWallet.get(key)?.after[step];
      if (wallet === undefined) throw new Error(`wallet ${change.sellerId}/${change.currency} has no balance for step ${step}`);
      events.push(balanceChanged(wallet, cause));
      return { change, wallet };
    });
    const timeline = timelineOf(results, cause);
    if (timeline) events.push(timeline);
    return results;
  });
  await writeOutboxBatch(tx, events);
  return applied;
}

function signed(amountMinor: bigint, currency: string): string {
  return `${amountMinor < 0n ? '-' : '+'}${formatAmount(amountMinor < 0n ? -amountMinor : amountMinor, currency)}`;
}

/** wallet.balance_changed@1: the wallet right after one change. */
function balanceChanged(wallet: StoredWallet, cause: ChangeCause): DomainEvent<unknown> {
  const payload = serializeEventPayload('wallet.balance_changed@1', {
    sellerId: wallet.sellerId,
    currency: wallet.currency,
    pendingMinor: wallet.pendingMinor,
    availableMinor: wallet.availableMinor,
    reservedMinor: wallet.reservedMinor,
    version: wallet.version,
    ...(cause.causationEventId === undefined ? {} : { causationEventId: cause.causationEventId }),
    at: wallet.updatedAt,
  });
  return newEvent('wallet.balance_changed', 1, cause.correlationId ?? wallet.sellerId, payload);
}

/**
 * timeline.recorded@2 for a cause that belongs to a payment: one entry per wallet it moved, in
 * the order applied; none when it moved nothing (a redelivery) or belongs to no payment.
 */
function timelineOf(applied: readonly AppliedChange[], cause: ChangeCause): DomainEvent<unknown> | undefined {
  if (cause.paymentId === undefined) return undefined;
  const entries = applied.flatMap(({ change, wallet }) => (wallet === undefined ? [] : [timelineEntry(change, wallet)]));
  if (entries.length === 0) return undefined;
  return newEvent('timeline.recorded', 2, cause.paymentId, serializeEventPayload('timeline.recorded@2', { paymentId: cause.paymentId, entries }));
}

function timelineEntry(change: WalletChange, wallet: StoredWallet): TimelineEntry {
  const { pendingDeltaMinor, availableDeltaMinor, reservedDeltaMinor } = change.delta;
  const parts = [
    pendingDeltaMinor === 0n ? undefined : `pending ${signed(pendingDeltaMinor, wallet.currency)}`,
    availableDeltaMinor === 0n ? undefined : `available ${signed(availableDeltaMinor, wallet.currency)}`,
    reservedDeltaMinor === 0n ? undefined : `reserved ${signed(reservedDeltaMinor, wallet.currency)}`,
  ].filter((part) => part !== undefined);
  return {
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
  };
}
