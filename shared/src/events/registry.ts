// The registry of every versioned event: its zod schema keyed by `type@version`, the routing
// keys, and the two functions that cross the wire: parse (consumer) and serialize (producer).
import type { z } from 'zod';
import { disputeLostV1, disputeOpenedV1, disputeWonV1 } from './dispute.js';
import { orderDeliveredV1 } from './order.js';
import { paymentStatusChangedV1, paymentSucceededV1 } from './payment.js';
import { payoutFailedV1, payoutPaidV1, payoutRequestedV1 } from './payout.js';
import { pspFeeBookedV1 } from './psp.js';
import { pspPayoutUpdatedV1 } from './psp-payout.js';
import { refundReversedV1, refundSucceededV1 } from './refund.js';
import { timelineRecordedV1, timelineRecordedV2 } from './timeline.js';
import { walletBalanceChangedV1 } from './wallet.js';

/** Routing keys on the `clearhouse.events` topic exchange; an event's type is its routing key. */
export const ROUTING_KEYS = {
  paymentSucceeded: 'payment.succeeded',
  paymentStatusChanged: 'payment.status_changed',
  orderDelivered: 'order.delivered',
  payoutRequested: 'payout.requested',
  payoutPaid: 'payout.paid',
  payoutFailed: 'payout.failed',
  refundSucceeded: 'refund.succeeded',
  refundReversed: 'refund.reversed',
  disputeOpened: 'dispute.opened',
  disputeWon: 'dispute.won',
  disputeLost: 'dispute.lost',
  pspFeeBooked: 'psp.fee_booked',
  pspPayoutUpdated: 'psp.payout_updated',
  walletBalanceChanged: 'wallet.balance_changed',
  timelineRecorded: 'timeline.recorded',
} as const;
export type EventType = (typeof ROUTING_KEYS)[keyof typeof ROUTING_KEYS];

/**
 * Events only live views consume (the gateways' GraphQL subscription feeds, which bind their
 * queues while someone is subscribed): with nobody watching they are routed nowhere, and that is
 * not a failure of the publish. Every other event must reach at least one queue (mandatory), so
 * a missing consumer queue keeps its outbox row unpublished instead of losing it.
 */
export const LIVE_ONLY_EVENT_TYPES: ReadonlySet<string> = new Set<EventType>([ROUTING_KEYS.paymentStatusChanged, ROUTING_KEYS.walletBalanceChanged]);

export const EVENT_SCHEMAS = {
  'payment.succeeded@1': paymentSucceededV1,
  'payment.status_changed@1': paymentStatusChangedV1,
  'order.delivered@1': orderDeliveredV1,
  'payout.requested@1': payoutRequestedV1,
  'payout.paid@1': payoutPaidV1,
  'payout.failed@1': payoutFailedV1,
  'refund.succeeded@1': refundSucceededV1,
  'refund.reversed@1': refundReversedV1,
  'dispute.opened@1': disputeOpenedV1,
  'dispute.won@1': disputeWonV1,
  'dispute.lost@1': disputeLostV1,
  'psp.fee_booked@1': pspFeeBookedV1,
  'psp.payout_updated@1': pspPayoutUpdatedV1,
  'wallet.balance_changed@1': walletBalanceChangedV1,
  'timeline.recorded@1': timelineRecordedV1,
  'timeline.recorded@2': timelineRecordedV2,
} as const satisfies Record<`${EventType}@${number}`, z.ZodType>;

export type EventKey = keyof typeof EVENT_SCHEMAS;
/** The parsed payload (bigint amounts, Date timestamps). */
export type EventPayload<K extends EventKey> = z.output<(typeof EVENT_SCHEMAS)[K]>;
/** The JSON payload on the wire (digit strings, ISO timestamps). */
export type EventWirePayload<K extends EventKey> = z.input<(typeof EVENT_SCHEMAS)[K]>;
export type EventKeyOf<T extends string, V extends number> = Extract<EventKey, `${T}@${V}`>;

/** The latest schema version of each event type, for producers. */
export const LATEST_EVENT_VERSION: { readonly [T in EventType]: number } = {
  'payment.succeeded': 1,
  'payment.status_changed': 1,
  'order.delivered': 1,
  'payout.requested': 1,
  'payout.paid': 1,
  'payout.failed': 1,
  'refund.succeeded': 1,
  'refund.reversed': 1,
  'dispute.opened': 1,
  'dispute.won': 1,
  'dispute.lost': 1,
  'psp.fee_booked': 1,
  'psp.payout_updated': 1,
  'wallet.balance_changed': 1,
  'timeline.recorded': 2,
};

export function eventKey(type: string, version: number): string {
  return `${type}@${version}`;
}

export function isEventKey(key: string): key is EventKey {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, key);
}

export interface EventPayloadIssue {
  readonly path: string;
  readonly message: string;
}

export type ParseEventResult<K extends EventKey> =
  | { readonly ok: true; readonly key: K; readonly payload: EventPayload<K> }
  | { readonly ok: false; readonly reason: 'UNKNOWN_EVENT' | 'INVALID_PAYLOAD'; readonly message: string; readonly issues: readonly EventPayloadIssue[] };

/**
 * Parses an incoming payload against its versioned schema. Failures are returned, not thrown:
 * the consumer classifies them as non-retryable and parks the message with the issues.
 */
export function parseEventPayload<T extends EventType, V extends number>(
  type: T,
  version: V,
  payload: unknown,
): ParseEventResult<EventKeyOf<T, V>> {
  const key = eventKey(type, version);
  if (!isEventKey(key)) {
    return { ok: false, reason: 'UNKNOWN_EVENT', message: `no schema for event ${key}`, issues: [] };
  }
  const result = (EVENT_SCHEMAS[key] as z.ZodType).safeParse(payload);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
    return { ok: false, reason: 'INVALID_PAYLOAD', message: `invalid ${key} payload`, issues };
  }
  return { ok: true, key: key as EventKeyOf<T, V>, payload: result.data as EventPayload<EventKeyOf<T, V>> };
}

const WIRE_DEPTH_MAX = 16;

function toWire(value: unknown, depth: number): unknown {
  if (depth > WIRE_DEPTH_MAX) throw new Error('event payload nested too deeply');
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => toWire(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    const wire: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(value)) {
      if (field !== undefined) wire[name] = toWire(field, depth + 1);
    }
    return wire;
  }
  return value;
}

/**
 * Turns a parsed payload into its JSON wire form (bigint → digit string, Date → ISO string) and
 * checks it against the schema before it leaves, so a producer cannot publish a broken event.
 */
export function serializeEventPayload<K extends EventKey>(key: K, payload: EventPayload<K>): EventWirePayload<K> {
  const wire = toWire(payload, 0);
  const check = (EVENT_SCHEMAS[key] as z.ZodType).safeParse(wire);
  if (!check.success) throw new Error(`refusing to serialize an invalid ${key} payload: ${check.error.message}`);
  return wire as EventWirePayload<K>;
}
