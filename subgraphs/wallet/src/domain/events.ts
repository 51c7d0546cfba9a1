// Maps each ledger-facing event onto wallet changes, mirroring the ledger's posting rules entry
// for entry on the seller accounts (see walletMatchesLedger for the exact correspondence).
import type {
  DisputeLostV1,
  DisputeOpenedV1,
  DisputeWonV1,
  OrderDeliveredV1,
  PaymentSucceededV1,
  PayoutFailedV1,
  PayoutPaidV1,
  PayoutRequestedV1,
  RefundReversedV1,
  RefundSucceededV1,
  SellerSplit,
} from '@clearhouse/shared';
import type { WalletBalance, WalletChange, WalletDelta, WalletMovementKind, WalletTransition } from './wallet.js';
import { WalletRuleError, ZERO_DELTA, addDeltas, applyWalletChange, isZeroDelta } from './wallet.js';

export type WalletEvent =
  | { readonly type: 'payment.succeeded'; readonly payload: PaymentSucceededV1 }
  | { readonly type: 'order.delivered'; readonly payload: OrderDeliveredV1 }
  | { readonly type: 'payout.requested'; readonly payload: PayoutRequestedV1 }
  | { readonly type: 'payout.paid'; readonly payload: PayoutPaidV1 }
  | { readonly type: 'payout.failed'; readonly payload: PayoutFailedV1 }
  | { readonly type: 'refund.succeeded'; readonly payload: RefundSucceededV1 }
  | { readonly type: 'refund.reversed'; readonly payload: RefundReversedV1 }
  | { readonly type: 'dispute.opened'; readonly payload: DisputeOpenedV1 }
  | { readonly type: 'dispute.won'; readonly payload: DisputeWonV1 }
  | { readonly type: 'dispute.lost'; readonly payload: DisputeLostV1 };

function delta(pendingDeltaMinor: bigint, availableDeltaMinor: bigint, reservedDeltaMinor = 0n): WalletDelta {
  return { pendingDeltaMinor, availableDeltaMinor, reservedDeltaMinor };
}

/** Merges per-seller deltas (a payment may hold several orders of one seller) and drops zero ones; seller order is preserved. */
class ChangeCollector {
  private readonly bySeller = new Map<string, WalletDelta>();

  constructor(
    private readonly currency: string,
    private readonly kind: WalletMovementKind,
  ) {}

  add(sellerId: string, change: WalletDelta): this {
    this.bySeller.set(sellerId, addDeltas(this.bySeller.get(sellerId) ?? ZERO_DELTA, change));
    return this;
  }

  toArray(): WalletChange[] {
    return [...this.bySeller.entries()]
      .filter(([, change]) => !isZeroDelta(change))
      .map(([sellerId, change]) => ({ sellerId, currency: this.currency, kind: this.kind, delta: change }));
  }
}

function requireNonNegative(amountMinor: bigint, field: string): void {
  if (amountMinor < 0n) throw new WalletRuleError('INVALID_AMOUNT', `${field} must be >= 0`, field);
}

function addSplits(collector: ChangeCollector, splits: readonly SellerSplit[], sign: 1n | -1n): void {
  for (const [index, split] of splits.entries()) {
    requireNonNegative(split.pendingMinor, `orders.${index}.pendingMinor`);
    requireNonNegative(split.availableMinor, `orders.${index}.availableMinor`);
    collector.add(split.sellerId, delta(sign * split.pendingMinor, sign * split.availableMinor));
  }
}

/**
 * The wallet changes one event causes, one per affected (seller, currency). Mirrors the ledger:
 * payment.succeeded → pending += net; order.delivered → pending → available;
 * payout.requested → available → reserved (needs available >= amount); payout.paid → reserved -=;
 * payout.failed → reserved → available; refund.succeeded → pending/available -= the split;
 * refund.reversed (the refund failed at the PSP later) → pending/available += its split back;
 * dispute.opened → pending/available -= the hold, available -= the seller's dispute fee share;
 * dispute.won → += the split; dispute.lost → += the split when the platform bears the loss.
 * Throws WalletRuleError on a negative amount (the schemas make that impossible for parsed events).
 */
export function walletChangesFor(event: WalletEvent): WalletChange[] {
  switch (event.type) {
    case 'payment.succeeded': {
      const collector = new ChangeCollector(event.payload.currency, 'payment_succeeded');
      for (const [index, order] of event.payload.orders.entries()) {
        requireNonNegative(order.netAmountMinor, `orders.${index}.netAmountMinor`);
        collector.add(order.sellerId, delta(order.netAmountMinor, 0n));
      }
      return collector.toArray();
    }
    case 'order.delivered': {
      const { sellerId, currency, netAmountMinor } = event.payload;
      requireNonNegative(netAmountMinor, 'netAmountMinor');
      return new ChangeCollector(currency, 'order_delivered').add(sellerId, delta(-netAmountMinor, netAmountMinor)).toArray();
    }
    case 'payout.requested': {
      const { sellerId, currency, amountMinor } = event.payload;
      if (amountMinor <= 0n) throw new WalletRuleError('INVALID_AMOUNT', 'amountMinor must be > 0', 'amountMinor');
      return [{ sellerId, currency, kind: 'payout_requested', delta: delta(0n, -amountMinor, amountMinor), requiresAvailableMinor: amountMinor }];
    }
    case 'payout.paid': {
      const { sellerId, currency, amountMinor } = event.payload;
      return new ChangeCollector(currency, 'payout_paid').add(sellerId, delta(0n, 0n, -amountMinor)).toArray();
    }
    case 'payout.failed': {
      const { sellerId, currency, amountMinor } = event.payload;
      return new ChangeCollector(currency, 'payout_failed').add(sellerId, delta(0n, amountMinor, -amountMinor)).toArray();
    }
    case 'refund.succeeded': {
      const { sellerId, currency, pendingMinor, availableMinor } = event.payload;
      requireNonNegative(pendingMinor, 'pendingMinor');
      requireNonNegative(availableMinor, 'availableMinor');
      return new ChangeCollector(currency, 'refund_succeeded').add(sellerId, delta(-pendingMinor, -availableMinor)).toArray();
    }
    case 'refund.reversed': {
      const { sellerId, currency, pendingMinor, availableMinor } = event.payload;
      requireNonNegative(pendingMinor, 'pendingMinor');
      requireNonNegative(availableMinor, 'availableMinor');
      return new ChangeCollector(currency, 'refund_reversed').add(sellerId, delta(pendingMinor, availableMinor)).toArray();
    }
    case 'dispute.opened': {
      const collector = new ChangeCollector(event.payload.currency, 'dispute_opened');
      addSplits(collector, event.payload.orders, -1n);
      for (const [index, order] of event.payload.orders.entries()) {
        requireNonNegative(order.disputeFeeMinor, `orders.${index}.disputeFeeMinor`);
        collector.add(order.sellerId, delta(0n, -order.disputeFeeMinor));
      }
      return collector.toArray();
    }
    case 'dispute.won': {
      const collector = new ChangeCollector(event.payload.currency, 'dispute_won');
      addSplits(collector, event.payload.orders, 1n);
      return collector.toArray();
    }
    case 'dispute.lost': {
      const collector = new ChangeCollector(event.payload.currency, 'dispute_lost');
      if (event.payload.lossBorneBy === 'platform') addSplits(collector, event.payload.orders, 1n);
      return collector.toArray();
    }
  }
}

/**
 * Applies an event to one wallet: the change for this wallet's seller and currency, or the
 * wallet unchanged (zero delta) when the event does not touch it.
 */
export function applyWalletEvent(wallet: WalletBalance, event: WalletEvent): WalletTransition {
  let changes: WalletChange[];
  try {
    changes = walletChangesFor(event);
  } catch (error) {
    if (error instanceof WalletRuleError) return { ok: false, error };
    throw error;
  }
  const change = changes.find((candidate) => candidate.sellerId === wallet.sellerId && candidate.currency === wallet.currency);
  return change === undefined ? { ok: true, wallet, delta: ZERO_DELTA } : applyWalletChange(wallet, change);
}
