// What the use cases need from storage; persistence/payments.ts implements it in raw SQL.
import type { DomainEvent, IdempotentExecutionContext, JsonValue } from '@clearhouse/shared';
import type { PaymentOrderStatus, PaymentStatus } from '../domain/payment-status.js';

export interface PaymentRecord {
  id: string;
  status: PaymentStatus;
  buyerId: string;
  currency: string;
  amountMinor: bigint;
  refundedAmountMinor: bigint;
  checkoutUrl: string | null;
  pspPaymentIntentId: string | null;
  pspCheckoutSessionId: string | null;
  pspRegistrationRound: number;
  failureCode: string | null;
  failureMessage: string | null;
  returnUrl: string | null;
  metadata: unknown;
  idempotencyCallerId: string;
  idempotencyKey: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface PaymentOrderRecord {
  id: string;
  paymentId: string;
  position: number;
  sellerId: string;
  reference: string | null;
  amountMinor: bigint;
  feeMinor: bigint;
  netAmountMinor: bigint;
  status: PaymentOrderStatus;
  refundedAmountMinor: bigint;
  deliveredAt: Date | null;
  pendingHeldMinor: bigint;
  reservedRefundMinor: bigint;
  releaseDueAt: Date | null;
  releasedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type RefundStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface RefundRecord {
  id: string;
  paymentId: string;
  paymentOrderId: string;
  amountMinor: bigint;
  currency: string;
  status: RefundStatus;
  reason: string | null;
  pspRefundId: string | null;
  pspRound: number;
  failureCode: string | null;
  feeRefundMinor: bigint | null;
  pendingMinor: bigint | null;
  availableMinor: bigint | null;
  createdAt: Date;
  updatedAt: Date;
  succeededAt: Date | null;
  /** When it failed; a refund that had succeeded keeps succeededAt and its money plan. */
  failedAt: Date | null;
  /**
   * What the reversal of a refund that had succeeded undid (FAILED after SUCCEEDED only; null
   * otherwise): the split published in refund.reversed@1, which can differ from the plan above.
   */
  reversalFeeRefundMinor: bigint | null;
  reversalPendingMinor: bigint | null;
  reversalAvailableMinor: bigint | null;
  nextRecheckAt: Date | null;
  /** The refundPaymentOrder request (caller, idempotency key) that made it; unique when set. */
  idempotencyCallerId: string | null;
  idempotencyKey: string | null;
}

export type RefundPatch = Partial<
  Pick<
    RefundRecord,
    | 'status'
    | 'pspRefundId'
    | 'failureCode'
    | 'feeRefundMinor'
    | 'pendingMinor'
    | 'availableMinor'
    | 'succeededAt'
    | 'failedAt'
    | 'reversalFeeRefundMinor'
    | 'reversalPendingMinor'
    | 'reversalAvailableMinor'
    | 'nextRecheckAt'
  >
>;

export type DisputeStatus = 'OPEN' | 'WON' | 'LOST';

export interface DisputeOrderRecord {
  paymentOrderId: string;
  sellerId: string;
  pendingMinor: bigint;
  availableMinor: bigint;
  disputeFeeMinor: bigint;
}

export interface DisputeRecord {
  id: string;
  paymentId: string;
  pspDisputeId: string;
  currency: string;
  amountMinor: bigint;
  disputeFeeMinor: bigint;
  feeBorneBy: 'platform' | 'seller';
  lossBorneBy: 'seller' | 'platform';
  status: DisputeStatus;
  /** The payment status the dispute interrupted; a won dispute returns the payment to it. */
  statusBefore: PaymentStatus;
  reason: string | null;
  orders: DisputeOrderRecord[];
  openedAt: Date;
  closedAt: Date | null;
}

export type OrderPatch = Partial<Pick<PaymentOrderRecord, 'status' | 'deliveredAt' | 'pendingHeldMinor' | 'reservedRefundMinor' | 'refundedAmountMinor' | 'releaseDueAt' | 'releasedAt'>>;

export interface TimelineEntry {
  paymentId: string;
  at: Date;
  /** payments, ledger, wallet, payouts, psp */
  source: string;
  type: string;
  message: string;
  data: Record<string, unknown> | null;
}

export interface PaymentPatch {
  status?: PaymentStatus;
  refundedAmountMinor?: bigint;
  checkoutUrl?: string | null;
  pspPaymentIntentId?: string;
  pspCheckoutSessionId?: string;
  failureCode?: string | null;
  failureMessage?: string | null;
  nextRecheckAt?: Date | null;
}

export interface NewPayment {
  payment: Omit<PaymentRecord, 'createdAt' | 'updatedAt' | 'version' | 'refundedAmountMinor' | 'pspRegistrationRound'>;
  orders: Omit<PaymentOrderRecord, 'createdAt' | 'updatedAt' | 'refundedAmountMinor' | 'deliveredAt' | 'pendingHeldMinor' | 'reservedRefundMinor' | 'releaseDueAt' | 'releasedAt'>[];
}

/** A payment and its orders as createPayment stored them (database defaults filled in). */
export interface StoredPayment {
  payment: PaymentRecord;
  /** By position. */
  orders: PaymentOrderRecord[];
}

/** createPayment: the caller already has a payment under this idempotency key. */
export class DuplicateIdempotencyKeyError extends Error {
  override readonly name = 'DuplicateIdempotencyKeyError';
}

/** createPayment's guard: the buyer may have started at most `max` payments since `since`, the new one included. */
export interface BuyerVelocityLimit {
  since: Date;
  max: number;
}

/** createPayment: the buyer's recent payments already reach the velocity limit; nothing was written. */
export class BuyerVelocityExceededError extends Error {
  override readonly name = 'BuyerVelocityExceededError';
  constructor(
    /** The buyer's payments since the limit's `since`, not counting the refused one. */
    readonly recentCount: number,
  ) {
    super(`the buyer started ${recentCount} payments within the velocity window`);
  }
}

/** updatePayment found the payment at another version: someone changed it meanwhile. */
export class StaleVersionError extends Error {
  override readonly name = 'StaleVersionError';
}

/** Work given to `PaymentsStore.changeAlone` asked for something that cannot wait for its one statement. */
export class NotDeferrableError extends Error {
  override readonly name = 'NotDeferrableError';
}

/** `PaymentsStore.changeAlone`'s webhook mark found the event id recorded already: nothing was written. */
export class WebhookAlreadyRecordedError extends Error {
  override readonly name = 'WebhookAlreadyRecordedError';
}

export interface ChangeAloneOptions {
  /**
   * The payment's orders as last read: lets the work set their status (`setOrdersStatus`
   * answers with these orders carrying the new status; their other fields are as read).
   */
  orders?: readonly PaymentOrderRecord[];
  /**
   * The PSP webhook the change applies: the work may call `markWebhookAndLockPayment` for it
   * (answered with `current`, fresh). The statement records the event id only while the
   * payment is still at `current`'s version (row-locked), and changes the payment only if the
   * id was new; an id recorded before writes nothing and throws WebhookAlreadyRecordedError.
   */
  webhook?: { eventId: string; type: string };
}

/** What a webhook needs to know before asking the PSP, read in one round trip. */
export interface WebhookSnapshot {
  /** The event id was recorded before: a redelivery. */
  processed: boolean;
  /** The payment holding the event's payment intent, if any, and its orders by position. */
  payment: PaymentRecord | null;
  orders: PaymentOrderRecord[];
}

/**
 * Everything done inside one database transaction. Timeline entries and outbox events are
 * written when the work function returns, in one statement each, before the commit.
 */
export interface PaymentsTransaction {
  /** The payment, locked until the transaction ends (SELECT ... FOR UPDATE). */
  lockPayment(id: string): Promise<PaymentRecord | null>;
  ordersOf(paymentId: string): Promise<PaymentOrderRecord[]>;
  /**
   * Optimistic: throws StaleVersionError unless the row still has `expectedVersion`; bumps the
   * version and returns the row as stored.
   */
  updatePayment(id: string, expectedVersion: number, patch: PaymentPatch): Promise<PaymentRecord>;
  /** Returns all the payment's orders (by position) as updated, so a transition needs no ordersOf. */
  setOrdersStatus(paymentId: string, status: PaymentOrderStatus): Promise<PaymentOrderRecord[]>;
  addTimeline(entry: TimelineEntry): Promise<void>;
  writeEvent(event: DomainEvent<unknown>): Promise<void>;
  /** Stores a mutation's response under its idempotency key in this transaction (runIdempotent). */
  completeIdempotentRequest(context: IdempotentExecutionContext, response: JsonValue): Promise<void>;
  /** Records a PSP webhook event id; false when it was recorded before. */
  markWebhookProcessed(eventId: string, type: string): Promise<boolean>;
  /**
   * markWebhookProcessed and lockPayment in one round trip: `fresh` is markWebhookProcessed's
   * answer; null when there is no such payment (the event id is recorded all the same).
   */
  markWebhookAndLockPayment(eventId: string, type: string, paymentId: string): Promise<{ fresh: boolean; payment: PaymentRecord } | null>;
  /** Optimistic on the order's updatedAt is not needed: callers hold the payment's lock. */
  updateOrder(id: string, patch: OrderPatch): Promise<void>;
  insertRefund(
    refund: Omit<
      RefundRecord,
      | 'createdAt'
      | 'updatedAt'
      | 'pspRound'
      | 'succeededAt'
      | 'failedAt'
      | 'feeRefundMinor'
      | 'pendingMinor'
      | 'availableMinor'
      | 'reversalFeeRefundMinor'
      | 'reversalPendingMinor'
      | 'reversalAvailableMinor'
      | 'failureCode'
      | 'pspRefundId'
    >,
  ): Promise<void>;
  findRefund(id: string): Promise<RefundRecord | null>;
  updateRefund(id: string, patch: RefundPatch): Promise<void>;
  findDisputeByPspId(pspDisputeId: string): Promise<DisputeRecord | null>;
  openDisputeOf(paymentId: string): Promise<DisputeRecord | null>;
  insertDispute(dispute: DisputeRecord): Promise<void>;
  updateDispute(id: string, patch: Partial<Pick<DisputeRecord, 'status' | 'closedAt' | 'statusBefore'>>): Promise<void>;
}

export interface PaymentListFilter {
  first: number;
  after: { createdAt: Date; id: string } | null;
  status: PaymentStatus | null;
  sellerId: string | null;
}

export interface PaymentsStore {
  transaction<T>(work: (tx: PaymentsTransaction) => Promise<T>): Promise<T>;
  /**
   * Runs `work` against a port that holds every write until `work` returns, then makes them in
   * one autocommitted statement (no BEGIN/COMMIT): the version-checked update of `current`, the
   * timeline entries, the outbox events and the idempotency response. For work that changes
   * `current` and reads nothing (a fresh payment's registration): any other port call throws
   * NotDeferrableError, and a changed version StaleVersionError, both before anything is written.
   * `options` let the work also set the orders' status and record a PSP webhook (a webhook's
   * status change: see ChangeAloneOptions).
   */
  changeAlone<T>(current: PaymentRecord, work: (tx: PaymentsTransaction) => Promise<T>, options?: ChangeAloneOptions): Promise<T>;
  findPayment(id: string): Promise<PaymentRecord | null>;
  findPayments(ids: readonly string[]): Promise<PaymentRecord[]>;
  findPaymentByIdempotencyKey(callerId: string, key: string): Promise<PaymentRecord | null>;
  /**
   * A new payment, its orders and its first timeline entry in one atomic statement. Throws
   * DuplicateIdempotencyKeyError when the caller already has a payment under this key, and
   * BuyerVelocityExceededError (writing nothing) when `velocity` is given and the buyer's
   * payments since `velocity.since` already number `velocity.max`; the same statement counts them.
   */
  createPayment(input: NewPayment, timeline: TimelineEntry, velocity?: BuyerVelocityLimit): Promise<StoredPayment>;
  ordersOfPayments(paymentIds: readonly string[]): Promise<PaymentOrderRecord[]>;
  findOrders(ids: readonly string[]): Promise<PaymentOrderRecord[]>;
  /** Newest first; returns up to first + 1 rows so the caller knows whether there is more. */
  listPayments(filter: PaymentListFilter): Promise<PaymentRecord[]>;
  timelineOf(paymentId: string): Promise<TimelineEntry[]>;
  /**
   * Whether the webhook event id was recorded, and the payment (with its orders) that holds
   * `paymentIntentId` (none when null), in one statement.
   */
  webhookSnapshot(eventId: string, paymentIntentId: string | null): Promise<WebhookSnapshot>;
  /** A timeline entry on its own (a PSP call outside any transaction). */
  addTimeline(entry: TimelineEntry): Promise<void>;
  bumpRegistrationRound(paymentId: string): Promise<number>;
  /** Takes the next key round for expiring the payment's checkout session (a new one per expiry and per server error). */
  bumpExpireRound(paymentId: string): Promise<number>;
  /**
   * Claims payments in `statuses` whose next re-check is due: moves their next re-check to
   * `nextAt(payment)` and returns them. Several instances never claim the same row at once.
   */
  claimPaymentsForRecheck(statuses: readonly PaymentStatus[], limit: number, delayMsFor: (payment: PaymentRecord) => number): Promise<PaymentRecord[]>;
  deleteWebhookEventsOlderThan(cutoff: Date, limit: number): Promise<number>;
  findPaymentByIntent(paymentIntentId: string): Promise<PaymentRecord | null>;
  findRefunds(ids: readonly string[]): Promise<RefundRecord[]>;
  /** The refund a refundPaymentOrder request made under this (caller, idempotency key), if any. */
  findRefundByIdempotencyKey(callerId: string, key: string): Promise<RefundRecord | null>;
  /** Oldest first, per order. */
  refundsOfOrders(orderIds: readonly string[]): Promise<RefundRecord[]>;
  bumpRefundRound(refundId: string): Promise<number>;
  /** Claims PENDING refunds whose re-check is due (moves it by delayMs); several instances never claim the same row. */
  claimRefundsForRecheck(limit: number, delayMs: number): Promise<RefundRecord[]>;
  /** Ids of delivered orders whose order.delivered@1 is due and not yet written. */
  dueReleaseOrderIds(limit: number): Promise<{ orderId: string; paymentId: string }[]>;
  /** Ids of payments still CREATED (never registered with the PSP) that were created before `cutoff`, oldest first. */
  createdPaymentIdsBefore(cutoff: Date, limit: number): Promise<string[]>;
}
