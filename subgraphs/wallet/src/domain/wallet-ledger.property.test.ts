// Cross-check: any sequence of events applied to the wallet and, through the ledger's own posting
// rules, to a ledger model keeps walletMatchesLedger true for every seller and currency.
// The ledger domain lives in another workspace; it is loaded at run time (jest transpiles it) and
// typed structurally here, so this workspace's typecheck never compiles the ledger's sources.
import fc from 'fast-check';
import { computeFee, currencyExponent, planRefund, planSellerDebit } from '@clearhouse/shared';
import type { FeeSchedule, RefundFeePolicy, SellerSplit } from '@clearhouse/shared';
import { applyWalletEvent, emptyWallet, walletMatchesLedger } from './index.js';
import type { WalletBalance, WalletEvent } from './index.js';

interface LedgerTransactionLike {
  readonly kind: string;
  readonly metadata: Readonly<Record<string, string | number | boolean | null>>;
}
type PostingResultLike =
  | { readonly kind: 'post'; readonly transaction: LedgerTransactionLike }
  | { readonly kind: 'nothing_to_post'; readonly reason: string }
  | { readonly kind: 'rejected'; readonly error: { readonly code: string; readonly message: string } };
type Rule = (payload: unknown) => PostingResultLike;
interface LedgerDomainLike {
  readonly postPaymentSucceeded: Rule;
  readonly postOrderDelivered: Rule;
  readonly postPayoutRequested: Rule;
  readonly postPayoutPaid: Rule;
  readonly postPayoutFailed: Rule;
  readonly postRefundSucceeded: Rule;
  readonly postRefundReversed: Rule;
  readonly postDisputeOpened: Rule;
  readonly postDisputeWon: Rule;
  readonly postDisputeLost: Rule;
  applyTransaction(balances: ReadonlyMap<string, bigint>, transaction: LedgerTransactionLike): Map<string, bigint>;
  balanceOf(balances: ReadonlyMap<string, bigint>, accountCode: string, currency: string): bigint;
  trialBalanceByCurrency(balances: ReadonlyMap<string, bigint>): Map<string, bigint>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ledger = require('../../../ledger/src/domain/index.ts') as LedgerDomainLike;

const AT = new Date('2025-01-15T12:00:00.000Z');
const SELLERS = ['A', 'B', 'C'] as const;
const CURRENCIES = ['USD', 'JPY', 'KWD'] as const;
const SCHEDULE: FeeSchedule = { percentBps: 290n, fixedMinor: 30n };

interface OrderState {
  readonly paymentId: string;
  readonly paymentOrderId: string;
  readonly sellerId: string;
  readonly currency: string;
  readonly amountMinor: bigint;
  readonly feeMinor: bigint;
  refundedMinor: bigint;
  pendingHeldMinor: bigint;
  delivered: boolean;
  openDispute: { disputeId: string; amountMinor: bigint; split: SellerSplit } | undefined;
  closed: boolean;
}
interface PayoutState {
  readonly payoutId: string;
  readonly sellerId: string;
  readonly currency: string;
  readonly amountMinor: bigint;
  readonly fx: { payoutCurrency: string; payoutAmountMinor: bigint; rateNumerator: bigint; rateDenominator: bigint } | undefined;
}

const commandArb = fc.oneof(
  fc.record({
    op: fc.constant('pay' as const),
    currencyIndex: fc.nat({ max: CURRENCIES.length - 1 }),
    orders: fc.array(fc.record({ sellerIndex: fc.nat({ max: SELLERS.length - 1 }), amountMinor: fc.bigInt({ min: 1n, max: 1_000_000n }) }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ op: fc.constant('deliver' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('refund' as const), pick: fc.nat(), percent: fc.bigInt({ min: 1n, max: 100n }), policy: fc.constantFrom<RefundFeePolicy>('platform_keeps_fee', 'platform_returns_fee_pro_rata') }),
  fc.record({ op: fc.constant('refundFail' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('payout' as const), sellerIndex: fc.nat({ max: SELLERS.length - 1 }), currencyIndex: fc.nat({ max: CURRENCIES.length - 1 }), percent: fc.bigInt({ min: 1n, max: 120n }), fx: fc.boolean() }),
  fc.record({ op: fc.constant('settle' as const), pick: fc.nat(), paid: fc.boolean() }),
  fc.record({ op: fc.constant('disputeOpen' as const), pick: fc.nat(), percent: fc.bigInt({ min: 1n, max: 100n }), feeMinor: fc.bigInt({ min: 0n, max: 2000n }), feeBySeller: fc.boolean() }),
  fc.record({ op: fc.constant('disputeClose' as const), pick: fc.nat(), won: fc.boolean(), lossBySeller: fc.boolean() }),
);
type Command = typeof commandArb extends fc.Arbitrary<infer C> ? C : never;

class World {
  balances: Map<string, bigint> = new Map();
  readonly transactions: LedgerTransactionLike[] = [];
  readonly wallets = new Map<string, WalletBalance>();
  readonly orders: OrderState[] = [];
  readonly payouts: PayoutState[] = [];
  /** Succeeded refunds that may still fail at the PSP (refund.reversed). */
  readonly refunds: { readonly order: OrderState; readonly refundId: string; readonly amountMinor: bigint; readonly feeRefundMinor: bigint; readonly pendingMinor: bigint; readonly availableMinor: bigint }[] = [];
  private sequence = 0;

  private nextId(prefix: string): string {
    this.sequence += 1;
    return `${prefix}_${this.sequence}`;
  }

  wallet(sellerId: string, currency: string): WalletBalance {
    return this.wallets.get(`${sellerId}|${currency}`) ?? emptyWallet(sellerId, currency);
  }

  /** Applies the event to every wallet; returns false (and changes nothing) when a wallet refuses it. */
  private applyToWallets(event: WalletEvent): boolean {
    const next = new Map(this.wallets);
    for (const sellerId of SELLERS) {
      for (const currency of CURRENCIES) {
        const result = applyWalletEvent(this.wallet(sellerId, currency), event);
        if (!result.ok) return false;
        next.set(`${sellerId}|${currency}`, result.wallet);
      }
    }
    for (const [key, wallet] of next) this.wallets.set(key, wallet);
    return true;
  }

  private post(result: PostingResultLike): void {
    if (result.kind === 'rejected') throw new Error(`ledger rejected: ${result.error.code} ${result.error.message}`);
    if (result.kind === 'post') {
      this.balances = ledger.applyTransaction(this.balances, result.transaction);
      this.transactions.push(result.transaction);
    }
  }

  /** Wallet first (it may refuse a payout: INSUFFICIENT_FUNDS), then the ledger, as the services do. */
  private emit(event: WalletEvent, rule: Rule): boolean {
    if (!this.applyToWallets(event)) return false;
    this.post(rule(event.payload));
    return true;
  }

  private pickOrder(pick: number, predicate: (order: OrderState) => boolean): OrderState | undefined {
    const candidates = this.orders.filter(predicate);
    return candidates[pick % Math.max(1, candidates.length)];
  }

  run(command: Command): void {
    switch (command.op) {
      case 'pay': {
        const currency = CURRENCIES[command.currencyIndex] ?? 'USD';
        const paymentId = this.nextId('pay');
        const orders = command.orders.map((order, index) => {
          const feeMinor = computeFee(order.amountMinor, SCHEDULE);
          return { paymentOrderId: `${paymentId}_${index}`, sellerId: SELLERS[order.sellerIndex] ?? 'A', amountMinor: order.amountMinor, feeMinor, netAmountMinor: order.amountMinor - feeMinor };
        });
        const amountMinor = orders.reduce((total, order) => total + order.amountMinor, 0n);
        const payload = { paymentId, buyerId: 'buyer', currency, amountMinor, pspPaymentIntentId: `pi_${paymentId}`, succeededAt: AT, orders };
        this.emit({ type: 'payment.succeeded', payload }, ledger.postPaymentSucceeded);
        for (const order of orders) {
          this.orders.push({ paymentId, ...order, currency, refundedMinor: 0n, pendingHeldMinor: order.netAmountMinor, delivered: false, openDispute: undefined, closed: false });
        }
        return;
      }
      case 'deliver': {
        const order = this.pickOrder(command.pick, (candidate) => !candidate.delivered);
        if (order === undefined) return;
        const payload = { paymentOrderId: order.paymentOrderId, paymentId: order.paymentId, sellerId: order.sellerId, currency: order.currency, netAmountMinor: order.pendingHeldMinor, deliveredAt: AT };
        this.emit({ type: 'order.delivered', payload }, ledger.postOrderDelivered);
        order.delivered = true;
        order.pendingHeldMinor = 0n;
        return;
      }
      case 'refund': {
        const order = this.pickOrder(command.pick, (candidate) => !candidate.closed && candidate.openDispute === undefined && candidate.refundedMinor < candidate.amountMinor);
        if (order === undefined) return;
        const remainingMinor = order.amountMinor - order.refundedMinor;
        const refundMinor = (remainingMinor * command.percent + 99n) / 100n;
        const plan = planRefund(command.policy, { amountMinor: order.amountMinor, feeMinor: order.feeMinor, refundedBeforeMinor: order.refundedMinor, pendingHeldMinor: order.pendingHeldMinor }, refundMinor);
        const payload = {
          refundId: this.nextId('re'), paymentId: order.paymentId, paymentOrderId: order.paymentOrderId, sellerId: order.sellerId, currency: order.currency,
          amountMinor: refundMinor, feePolicy: command.policy, pspRefundId: 'pyr', refundedAt: AT, ...plan,
        };
        this.emit({ type: 'refund.succeeded', payload }, ledger.postRefundSucceeded);
        order.refundedMinor += refundMinor;
        order.pendingHeldMinor -= plan.pendingMinor;
        this.refunds.push({ order, refundId: payload.refundId, amountMinor: refundMinor, ...plan });
        return;
      }
      case 'refundFail': {
        // As the payments subgraph splits it back (planRefundReversal): as taken, or all to available once delivered.
        const refund = this.refunds[command.pick % Math.max(1, this.refunds.length)];
        if (refund === undefined || refund.order.openDispute !== undefined || refund.order.closed) return;
        this.refunds.splice(this.refunds.indexOf(refund), 1);
        const { order } = refund;
        const split = order.delivered ? { pendingMinor: 0n, availableMinor: refund.pendingMinor + refund.availableMinor } : { pendingMinor: refund.pendingMinor, availableMinor: refund.availableMinor };
        const payload = {
          refundId: refund.refundId, paymentId: order.paymentId, paymentOrderId: order.paymentOrderId, sellerId: order.sellerId, currency: order.currency,
          amountMinor: refund.amountMinor, feeRefundMinor: refund.feeRefundMinor, ...split, pspRefundId: 'pyr', failureReason: 'expired_or_canceled_card', reversedAt: AT,
        };
        this.emit({ type: 'refund.reversed', payload }, ledger.postRefundReversed);
        order.refundedMinor -= refund.amountMinor;
        order.pendingHeldMinor += split.pendingMinor;
        return;
      }
      case 'payout': {
        // Aim at a wallet with money when there is one (otherwise payouts would almost never happen).
        const funded = [...this.wallets.values()].filter((wallet) => wallet.availableMinor > 0n);
        const target = funded[(command.sellerIndex * CURRENCIES.length + command.currencyIndex) % Math.max(1, funded.length)];
        const sellerId = target?.sellerId ?? SELLERS[command.sellerIndex] ?? 'A';
        const currency = target?.currency ?? CURRENCIES[command.currencyIndex] ?? 'USD';
        const availableMinor = this.wallet(sellerId, currency).availableMinor;
        const amountMinor = (availableMinor * command.percent) / 100n;
        if (amountMinor <= 0n) return;
        const payoutCurrency = currency === 'USD' ? 'JPY' : 'USD';
        const rate = { rateNumerator: 3n, rateDenominator: 2n };
        // Convert the way the ledger does (half-up across the currencies' exponents), as the payouts service would.
        const fx = command.fx ? { payoutCurrency, payoutAmountMinor: 0n, ...rate } : undefined;
        if (fx !== undefined) {
          const dividend = amountMinor * fx.rateNumerator * 10n ** BigInt(currencyExponent(payoutCurrency));
          const divisor = fx.rateDenominator * 10n ** BigInt(currencyExponent(currency));
          fx.payoutAmountMinor = (2n * dividend + divisor) / (2n * divisor);
          if (fx.payoutAmountMinor <= 0n) return;
        }
        const payout: PayoutState = { payoutId: this.nextId('out'), sellerId, currency, amountMinor, fx };
        const payload = { payoutId: payout.payoutId, sellerId, currency, amountMinor, ...(fx === undefined ? {} : { fx }), requestedAt: AT };
        if (this.emit({ type: 'payout.requested', payload }, ledger.postPayoutRequested)) this.payouts.push(payout);
        return;
      }
      case 'settle': {
        const payout = this.payouts[command.pick % Math.max(1, this.payouts.length)];
        if (payout === undefined) return;
        this.payouts.splice(this.payouts.indexOf(payout), 1);
        const base = { payoutId: payout.payoutId, sellerId: payout.sellerId, currency: payout.currency, amountMinor: payout.amountMinor, ...(payout.fx === undefined ? {} : { fx: payout.fx }) };
        const settled = command.paid
          ? this.emit({ type: 'payout.paid', payload: { ...base, pspPayoutId: 'psp', paidAt: AT } }, ledger.postPayoutPaid)
          : this.emit({ type: 'payout.failed', payload: { ...base, failureCode: 'x', failedAt: AT } }, ledger.postPayoutFailed);
        expect(settled).toBe(true);
        return;
      }
      case 'disputeOpen': {
        const order = this.pickOrder(command.pick, (candidate) => !candidate.closed && candidate.openDispute === undefined && candidate.refundedMinor < candidate.amountMinor);
        if (order === undefined) return;
        const amountMinor = ((order.amountMinor - order.refundedMinor) * command.percent + 99n) / 100n;
        const split = { paymentOrderId: order.paymentOrderId, sellerId: order.sellerId, ...planSellerDebit(amountMinor, order.pendingHeldMinor) };
        const disputeId = this.nextId('dp');
        const payload = {
          disputeId, paymentId: order.paymentId, pspDisputeId: 'du', currency: order.currency, amountMinor,
          disputeFeeMinor: command.feeMinor, disputeFeeBorneBy: command.feeBySeller ? ('seller' as const) : ('platform' as const),
          orders: [{ ...split, disputeFeeMinor: command.feeBySeller ? command.feeMinor : 0n }], openedAt: AT,
        };
        this.emit({ type: 'dispute.opened', payload }, ledger.postDisputeOpened);
        order.pendingHeldMinor -= split.pendingMinor;
        order.openDispute = { disputeId, amountMinor, split };
        return;
      }
      case 'disputeClose': {
        const order = this.pickOrder(command.pick, (candidate) => candidate.openDispute !== undefined);
        if (order === undefined || order.openDispute === undefined) return;
        const { disputeId, amountMinor, split } = order.openDispute;
        // Funds come back to pending only while the order is undelivered; otherwise to available.
        const back = order.delivered ? { ...split, pendingMinor: 0n, availableMinor: amountMinor } : split;
        const base = { disputeId, paymentId: order.paymentId, currency: order.currency, amountMinor };
        const returned = command.won || !command.lossBySeller;
        if (command.won) this.emit({ type: 'dispute.won', payload: { ...base, orders: [back], wonAt: AT } }, ledger.postDisputeWon);
        else this.emit({ type: 'dispute.lost', payload: { ...base, lossBorneBy: command.lossBySeller ? 'seller' : 'platform', orders: command.lossBySeller ? [] : [back], lostAt: AT } }, ledger.postDisputeLost);
        if (returned) order.pendingHeldMinor += back.pendingMinor;
        else order.closed = true;
        order.openDispute = undefined;
        return;
      }
    }
  }

  /** The seller's payouts in transit, derived from the ledger's own payout transactions. */
  ledgerInTransitMinor(sellerId: string, currency: string): bigint {
    let totalMinor = 0n;
    for (const transaction of this.transactions) {
      const sign = transaction.kind === 'payout_requested' ? 1n : transaction.kind === 'payout_paid' || transaction.kind === 'payout_failed' ? -1n : 0n;
      if (sign === 0n || transaction.metadata['sellerId'] !== sellerId || transaction.metadata['balanceCurrency'] !== currency) continue;
      totalMinor += sign * BigInt(String(transaction.metadata['balanceAmountMinor']));
    }
    return totalMinor;
  }

  checkInvariant(): void {
    for (const sellerId of SELLERS) {
      for (const currency of CURRENCIES) {
        const check = walletMatchesLedger(this.wallet(sellerId, currency), {
          sellerPendingMinor: ledger.balanceOf(this.balances, `seller_pending:${sellerId}`, currency),
          sellerAvailableMinor: ledger.balanceOf(this.balances, `seller_available:${sellerId}`, currency),
          sellerPayoutsInTransitMinor: this.ledgerInTransitMinor(sellerId, currency),
        });
        expect(check).toEqual({ ok: true });
      }
    }
    for (const netMinor of ledger.trialBalanceByCurrency(this.balances).values()) expect(netMinor).toBe(0n);
  }
}

describe('wallet ↔ ledger invariant', () => {
  it('holds after every step of any event sequence (payments, deliveries, refunds and their reversals, payouts incl. FX, disputes)', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 20, maxLength: 80, size: 'max' }), (commands) => {
        const world = new World();
        for (const command of commands) {
          world.run(command);
          world.checkInvariant();
        }
      }),
      { numRuns: 200 },
    );
  });
});
