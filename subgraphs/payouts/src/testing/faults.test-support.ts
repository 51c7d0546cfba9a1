// Faults the payouts use cases must survive, injected around the real dependencies.
import type { TransactionalDb } from '@clearhouse/shared';

/** The service's database, except that its next `$transaction` fails as a dropped connection would. */
export function failingNextTransaction(db: TransactionalDb): TransactionalDb {
  let failed = false;
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === '$transaction' && !failed) {
        return () => {
          failed = true;
          return Promise.reject(new Error('connection terminated unexpectedly'));
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
