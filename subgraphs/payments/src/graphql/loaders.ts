// Per-request batching: every load() in the same tick becomes one query (no N+1 for orders).
import { createLoader, type Loader } from '@clearhouse/shared';
import type { PaymentOrderRecord, PaymentRecord, PaymentsStore } from '../application/ports.js';

export interface PaymentsLoaders {
  payment: Loader<string, PaymentRecord | null>;
  ordersByPayment: Loader<string, PaymentOrderRecord[]>;
  order: Loader<string, PaymentOrderRecord | null>;
}

export function createPaymentsLoaders(store: PaymentsStore): PaymentsLoaders {
  return {
    payment: createLoader(async (ids) => new Map((await store.findPayments(ids)).map((payment) => [payment.id, payment])), () => null),
    ordersByPayment: createLoader(async (paymentIds) => {
      const byPayment = new Map<string, PaymentOrderRecord[]>();
      for (const order of await store.ordersOfPayments(paymentIds)) {
        const list = byPayment.get(order.paymentId) ?? [];
        list.push(order);
        byPayment.set(order.paymentId, list);
      }
      return byPayment;
    }, () => []),
    order: createLoader(async (ids) => new Map((await store.findOrders(ids)).map((order) => [order.id, order])), () => null),
  };
}
