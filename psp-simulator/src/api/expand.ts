// Stripe's `expand[]`: replaces an id by the object it names, along dotted paths
// (`latest_charge`, `data.source`, `latest_charge.balance_transaction`), at most 4 levels.
import type { Sim } from '../core/sim.js';
import { publicView, type BalanceTransaction, type StoredObject } from '../core/types.js';
import { withCurrentStatus } from '../resources/balanceTransactions.js';

const depthMax = 4;

export function serve(sim: Sim, object: StoredObject): Record<string, unknown> {
  const current = object.object === 'balance_transaction' ? withCurrentStatus(sim, object as BalanceTransaction) : object;
  return publicView(current);
}

/** The public JSON of a handler's result, list or object. */
export function present(sim: Sim, result: object, expand: string[]): unknown {
  const record = result as Record<string, unknown>;
  let view: unknown =
    record.object === 'list' && Array.isArray(record.data)
      ? { ...record, data: (record.data as StoredObject[]).map((item) => serve(sim, item)) }
      : typeof record.id === 'string'
        ? serve(sim, record as StoredObject)
        : record;
  for (const path of expand) view = expandPath(sim, view, path.split('.').slice(0, depthMax + 1));
  return view;
}

function expandPath(sim: Sim, value: unknown, segments: string[]): unknown {
  const [head, ...rest] = segments;
  if (head === undefined || typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (head === 'data' && record.object === 'list' && Array.isArray(record.data)) {
    return { ...record, data: record.data.map((item: unknown) => expandPath(sim, item, rest)) };
  }
  const field = record[head];
  const target = typeof field === 'string' ? sim.store.get(field) : undefined;
  const resolved = target ? serve(sim, target) : field;
  return { ...record, [head]: expandPath(sim, resolved, rest) };
}
