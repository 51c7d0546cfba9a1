// Posting rules for payouts: requested, paid, failed; and the FX variant of a request.
import type { PayoutFailedV1, PayoutPaidV1, PayoutRequestedV1 } from '@clearhouse/shared';
import { fxClearing, fxGainLoss, payoutsInTransit, pspReceivable, sellerAvailable } from './accounts.js';
import { ruleFailure } from './errors.js';
import { convertMinor, fxDifferenceToleranceMinor } from './fx.js';
import { EntryList, requireCurrency, requirePositive, requireValidDate, runRule } from './rule-kit.js';
import { causation } from './rules-payin.js';
import { mirrorEntries } from './rules-misc.js';
import type { JournalTransactionDraft, PostingContext, PostingResult, TransactionMetadata } from './types.js';

type PayoutFields = Pick<PayoutRequestedV1, 'payoutId' | 'sellerId' | 'currency' | 'amountMinor' | 'fx'>;

/** Where the payout leaves the books: the payout currency and amount the PSP sends. */
function payoutLeg(payout: PayoutFields): { currency: string; amountMinor: bigint } {
  return payout.fx === undefined
    ? { currency: payout.currency, amountMinor: payout.amountMinor }
    : { currency: payout.fx.payoutCurrency, amountMinor: payout.fx.payoutAmountMinor };
}

function payoutMetadata(payout: PayoutFields): Record<string, string | null> {
  return {
    payoutId: payout.payoutId,
    sellerId: payout.sellerId,
    balanceCurrency: payout.currency,
    balanceAmountMinor: payout.amountMinor.toString(),
    payoutCurrency: payout.fx?.payoutCurrency ?? payout.currency,
    payoutAmountMinor: (payout.fx?.payoutAmountMinor ?? payout.amountMinor).toString(),
  };
}

/**
 * The entries of a payout request. Same currency: DR seller_available, CR payouts_in_transit.
 * FX: the balance currency leaves through fx_clearing (DR seller_available S, CR fx_clearing S),
 * the payout currency enters it at the recorded rate (DR fx_clearing T = convert(S) half-up) and
 * goes to payouts_in_transit as the amount the PSP sends (CR T'); the difference T - T' is posted
 * explicitly to fx_gain_loss (credit = gain). Each currency balances on its own.
 */
function payoutRequestEntries(payout: PayoutFields): { entries: EntryList; fxMetadata: TransactionMetadata } {
  requireCurrency(payout.currency);
  requirePositive(payout.amountMinor, 'amountMinor');
  const entries = new EntryList();
  if (payout.fx === undefined) {
    entries
      .debit(sellerAvailable(payout.sellerId), payout.currency, payout.amountMinor, 'amountMinor')
      .credit(payoutsInTransit(), payout.currency, payout.amountMinor, 'amountMinor');
    return { entries, fxMetadata: {} };
  }
  const fx = payout.fx;
  requireCurrency(fx.payoutCurrency, 'fx.payoutCurrency');
  requirePositive(fx.payoutAmountMinor, 'fx.payoutAmountMinor');
  if (fx.payoutCurrency === payout.currency) ruleFailure('CURRENCY_MISMATCH', 'an FX payout needs a payout currency different from the balance currency', 'fx.payoutCurrency');
  const rate = { numerator: fx.rateNumerator, denominator: fx.rateDenominator };
  const expectedMinor = convertMinor(payout.amountMinor, payout.currency, fx.payoutCurrency, rate);
  const differenceMinor = expectedMinor - fx.payoutAmountMinor;
  const absDifferenceMinor = differenceMinor < 0n ? -differenceMinor : differenceMinor;
  if (absDifferenceMinor > fxDifferenceToleranceMinor(expectedMinor)) {
    ruleFailure('FX_DIFFERENCE_TOO_LARGE', `payout ${fx.payoutAmountMinor} differs from the converted ${expectedMinor} by more than the tolerance`, 'fx.payoutAmountMinor');
  }
  entries
    .debit(sellerAvailable(payout.sellerId), payout.currency, payout.amountMinor, 'amountMinor')
    .credit(fxClearing(), payout.currency, payout.amountMinor, 'amountMinor')
    .debit(fxClearing(), fx.payoutCurrency, expectedMinor, 'fx.expectedMinor')
    .credit(payoutsInTransit(), fx.payoutCurrency, fx.payoutAmountMinor, 'fx.payoutAmountMinor');
  if (differenceMinor > 0n) entries.credit(fxGainLoss(), fx.payoutCurrency, differenceMinor, 'fx.differenceMinor');
  if (differenceMinor < 0n) entries.debit(fxGainLoss(), fx.payoutCurrency, -differenceMinor, 'fx.differenceMinor');
  return {
    entries,
    fxMetadata: {
      fxRateNumerator: fx.rateNumerator.toString(),
      fxRateDenominator: fx.rateDenominator.toString(),
      fxExpectedPayoutAmountMinor: expectedMinor.toString(),
      fxDifferenceMinor: differenceMinor.toString(),
    },
  };
}

function payoutRequestedDraft(payout: PayoutFields, effectiveAt: Date, context: PostingContext): JournalTransactionDraft {
  const { entries, fxMetadata } = payoutRequestEntries(payout);
  return {
    reference: `payout_requested:${payout.payoutId}`,
    kind: 'payout_requested',
    effectiveAt,
    correlationId: payout.payoutId,
    ...causation(context),
    metadata: { ...payoutMetadata(payout), ...fxMetadata },
    entries: entries.toArray(),
  };
}

/** payout.requested: DR seller_available, CR payouts_in_transit (FX: through fx_clearing, see above). */
export function postPayoutRequested(payout: PayoutRequestedV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireValidDate(payout.requestedAt, 'requestedAt');
    return payoutRequestedDraft(payout, payout.requestedAt, context);
  });
}

/** payout.paid: DR payouts_in_transit, CR psp_receivable, in the payout currency and amount. */
export function postPayoutPaid(payout: PayoutPaidV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireCurrency(payout.currency);
    requirePositive(payout.amountMinor, 'amountMinor');
    requireValidDate(payout.paidAt, 'paidAt');
    const leg = payoutLeg(payout);
    requireCurrency(leg.currency, 'fx.payoutCurrency');
    const entries = new EntryList()
      .debit(payoutsInTransit(), leg.currency, leg.amountMinor, 'amountMinor')
      .credit(pspReceivable(), leg.currency, leg.amountMinor, 'amountMinor');
    return {
      reference: `payout_paid:${payout.payoutId}`,
      kind: 'payout_paid',
      effectiveAt: payout.paidAt,
      correlationId: payout.payoutId,
      ...causation(context),
      metadata: { ...payoutMetadata(payout), pspPayoutId: payout.pspPayoutId },
      entries: entries.toArray(),
    };
  });
}

/**
 * payout.failed (before it was paid): the exact mirror of the request, rebuilt from the same
 * payout fields (incl. the FX rate), linked to it by reversesReference.
 */
export function postPayoutFailed(payout: PayoutFailedV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireValidDate(payout.failedAt, 'failedAt');
    const requested = payoutRequestedDraft(payout, payout.failedAt, context);
    return {
      reference: `payout_failed:${payout.payoutId}`,
      kind: 'payout_failed',
      effectiveAt: payout.failedAt,
      correlationId: payout.payoutId,
      ...causation(context),
      reversesReference: requested.reference,
      // pspPayoutId: reconciliation matches the PSP's payout / payout_reversal lines by it.
      metadata: { ...requested.metadata, pspPayoutId: payout.pspPayoutId ?? null, failureCode: payout.failureCode ?? null },
      entries: mirrorEntries(requested.entries),
    };
  });
}
