// Posting rules for disputes (chargebacks). Accounting choice: the PSP withdraws the disputed
// amount when the dispute opens and reinstates it if we win; we book the sellers' side at open
// (their shares move into disputes_clearing) and the PSP side only when the loss is final, so
// while a dispute is open psp_receivable exceeds the PSP's balance by exactly the open
// disputes_clearing balance (reconciliation matches the PSP's dispute withdrawals against it).
import type { DisputeLostV1, DisputeOpenedV1, DisputeWonV1, SellerSplit } from '@clearhouse/shared';
import type { Direction } from './accounts.js';
import { chargebackLossExpense, disputesClearing, pspFeeExpense, pspReceivable, sellerAvailable, sellerPending } from './accounts.js';
import { ruleFailure } from './errors.js';
import { EntryList, requireCurrency, requireNonNegative, requirePositive, requireValidDate, runRule } from './rule-kit.js';
import { causation } from './rules-payin.js';
import type { PostingContext, PostingResult } from './types.js';

/** Adds one leg per seller bucket of each split and checks the splits add up to amountMinor. */
function addSellerSplits(entries: EntryList, direction: Direction, currency: string, amountMinor: bigint, orders: readonly SellerSplit[]): void {
  let splitTotalMinor = 0n;
  for (const [index, order] of orders.entries()) {
    const field = `orders.${index}`;
    requireNonNegative(order.pendingMinor, `${field}.pendingMinor`);
    requireNonNegative(order.availableMinor, `${field}.availableMinor`);
    entries.add(direction, sellerPending(order.sellerId), currency, order.pendingMinor, `${field}.pendingMinor`);
    entries.add(direction, sellerAvailable(order.sellerId), currency, order.availableMinor, `${field}.availableMinor`);
    splitTotalMinor += order.pendingMinor + order.availableMinor;
  }
  if (splitTotalMinor !== amountMinor) ruleFailure('SPLIT_MISMATCH', `order splits add up to ${splitTotalMinor}, dispute is ${amountMinor}`, 'orders');
}

/**
 * dispute.opened: DR seller_pending/seller_available per order split, CR disputes_clearing the
 * disputed amount. Dispute fee (charged by the PSP now): CR psp_receivable, DR psp_fee_expense
 * (platform bears it) or DR seller_available per order share (sellers bear it).
 */
export function postDisputeOpened(dispute: DisputeOpenedV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireCurrency(dispute.currency);
    requirePositive(dispute.amountMinor, 'amountMinor');
    requireNonNegative(dispute.disputeFeeMinor, 'disputeFeeMinor');
    requireValidDate(dispute.openedAt, 'openedAt');
    const entries = new EntryList();
    addSellerSplits(entries, 'DEBIT', dispute.currency, dispute.amountMinor, dispute.orders);
    entries.credit(disputesClearing(), dispute.currency, dispute.amountMinor, 'amountMinor');
    let sellerFeeMinor = 0n;
    for (const [index, order] of dispute.orders.entries()) {
      requireNonNegative(order.disputeFeeMinor, `orders.${index}.disputeFeeMinor`);
      entries.debit(sellerAvailable(order.sellerId), dispute.currency, order.disputeFeeMinor, `orders.${index}.disputeFeeMinor`);
      sellerFeeMinor += order.disputeFeeMinor;
    }
    const expectedSellerFeeMinor = dispute.disputeFeeBorneBy === 'seller' ? dispute.disputeFeeMinor : 0n;
    if (sellerFeeMinor !== expectedSellerFeeMinor) ruleFailure('SPLIT_MISMATCH', 'orders[].disputeFeeMinor must add up to the fee the sellers bear', 'orders');
    entries
      .debit(pspFeeExpense(), dispute.currency, dispute.disputeFeeMinor - sellerFeeMinor, 'disputeFeeMinor')
      .credit(pspReceivable(), dispute.currency, dispute.disputeFeeMinor, 'disputeFeeMinor');
    return {
      reference: `dispute_opened:${dispute.disputeId}`,
      kind: 'dispute_opened',
      effectiveAt: dispute.openedAt,
      correlationId: dispute.paymentId,
      ...causation(context),
      metadata: {
        disputeId: dispute.disputeId,
        paymentId: dispute.paymentId,
        pspDisputeId: dispute.pspDisputeId,
        disputeFeeMinor: dispute.disputeFeeMinor.toString(),
        disputeFeeBorneBy: dispute.disputeFeeBorneBy,
      },
      entries: entries.toArray(),
    };
  });
}

/** dispute.won: DR disputes_clearing, CR the sellers per the split (the withheld funds go back). The dispute fee stays booked. */
export function postDisputeWon(dispute: DisputeWonV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireCurrency(dispute.currency);
    requirePositive(dispute.amountMinor, 'amountMinor');
    requireValidDate(dispute.wonAt, 'wonAt');
    const entries = new EntryList().debit(disputesClearing(), dispute.currency, dispute.amountMinor, 'amountMinor');
    addSellerSplits(entries, 'CREDIT', dispute.currency, dispute.amountMinor, dispute.orders);
    return {
      reference: `dispute_won:${dispute.disputeId}`,
      kind: 'dispute_won',
      effectiveAt: dispute.wonAt,
      correlationId: dispute.paymentId,
      ...causation(context),
      metadata: { disputeId: dispute.disputeId, paymentId: dispute.paymentId },
      entries: entries.toArray(),
    };
  });
}

/**
 * dispute.lost: the buyer keeps the money, so CR psp_receivable the amount.
 * lossBorneBy 'seller': DR disputes_clearing (the withheld funds pay for it).
 * lossBorneBy 'platform': DR chargeback_loss_expense, and the withheld funds go back to the
 * sellers (DR disputes_clearing, CR sellers per split).
 */
export function postDisputeLost(dispute: DisputeLostV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireCurrency(dispute.currency);
    requirePositive(dispute.amountMinor, 'amountMinor');
    requireValidDate(dispute.lostAt, 'lostAt');
    const entries = new EntryList().debit(disputesClearing(), dispute.currency, dispute.amountMinor, 'amountMinor');
    if (dispute.lossBorneBy === 'platform') {
      addSellerSplits(entries, 'CREDIT', dispute.currency, dispute.amountMinor, dispute.orders);
      entries.debit(chargebackLossExpense(), dispute.currency, dispute.amountMinor, 'amountMinor');
    } else if (dispute.orders.length !== 0) {
      ruleFailure('SPLIT_MISMATCH', 'orders must be empty when the seller bears the loss', 'orders');
    }
    entries.credit(pspReceivable(), dispute.currency, dispute.amountMinor, 'amountMinor');
    return {
      reference: `dispute_lost:${dispute.disputeId}`,
      kind: 'dispute_lost',
      effectiveAt: dispute.lostAt,
      correlationId: dispute.paymentId,
      ...causation(context),
      metadata: { disputeId: dispute.disputeId, paymentId: dispute.paymentId, lossBorneBy: dispute.lossBorneBy },
      entries: entries.toArray(),
    };
  });
}
