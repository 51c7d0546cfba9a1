// Reads with object-level access: a seller key sees only payments that contain its orders and,
// within them, only its own orders; platform and ops see everything.
import { DomainError, type Caller } from '@clearhouse/shared';
import type { PaymentStatus } from '../domain/payment-status.js';
import type { PaymentOrderRecord, PaymentRecord, PaymentsStore, TimelineEntry } from './ports.js';

export const PAGE_SIZE_MAX = 100;
const CURSOR_LENGTH_MAX = 200;

export function canSeeOrder(caller: Caller, order: PaymentOrderRecord): boolean {
  return caller.role !== 'seller' || order.sellerId === caller.sellerId;
}

export function visibleOrders(caller: Caller, orders: readonly PaymentOrderRecord[]): PaymentOrderRecord[] {
  return orders.filter((order) => canSeeOrder(caller, order));
}

/** Sellers see a payment only if one of its orders is theirs. */
export function canSeePayment(caller: Caller, orders: readonly PaymentOrderRecord[]): boolean {
  return caller.role !== 'seller' || orders.some((order) => order.sellerId === caller.sellerId);
}

/** Sellers see the timeline without entries about other sellers' orders. */
export function visibleTimeline(caller: Caller, entries: readonly TimelineEntry[]): TimelineEntry[] {
  if (caller.role !== 'seller') return [...entries];
  return entries.filter((entry) => {
    const sellerId = entry.data?.sellerId;
    return typeof sellerId !== 'string' || sellerId === caller.sellerId;
  });
}

export function encodeCursor(payment: Pick<PaymentRecord, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([payment.createdAt.toISOString(), payment.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const invalid = () => new DomainError('INVALID_INPUT', 'after is not a cursor from this API', { field: ['after'] });
  if (cursor.length > CURSOR_LENGTH_MAX) throw invalid();
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') throw invalid();
    const createdAt = new Date(parsed[0]);
    if (Number.isNaN(createdAt.getTime())) throw invalid();
    return { createdAt, id: parsed[1] };
  } catch {
    throw invalid();
  }
}

export interface PaymentsPage {
  payments: PaymentRecord[];
  hasNextPage: boolean;
}

export async function listPayments(
  store: PaymentsStore,
  caller: Caller,
  args: { first?: number | null; after?: string | null; status?: PaymentStatus | null; sellerId?: string | null },
): Promise<PaymentsPage> {
  const first = args.first ?? 20;
  if (!Number.isInteger(first) || first < 1 || first > PAGE_SIZE_MAX) {
    throw new DomainError('INVALID_INPUT', `first must be 1-${PAGE_SIZE_MAX}`, { field: ['first'] });
  }
  let sellerId = args.sellerId ?? null;
  if (caller.role === 'seller') {
    if (sellerId !== null && sellerId !== caller.sellerId) throw new DomainError('FORBIDDEN', 'a seller key sees only its own payments');
    sellerId = caller.sellerId;
  }
  const rows = await store.listPayments({ first, after: args.after ? decodeCursor(args.after) : null, status: args.status ?? null, sellerId });
  return { payments: rows.slice(0, first), hasNextPage: rows.length > first };
}
