// Who may read what in the ledger. Finance data (trial balance, journal, other accounts) is for
// the platform and ops roles (and internal system callers); a seller key reads only its own seller
// accounts (seller_pending:<own id>, seller_available:<own id>). The audit is for ops (and system).
import type { Caller } from '@clearhouse/shared';
import { forbidden } from '@clearhouse/shared';
import { describeAccount, sellerIdOf } from '../domain/index.js';

export function requireFinance(caller: Caller): void {
  if (caller.role === 'seller') throw forbidden('finance data is for platform and ops keys');
}

export function requireOps(caller: Caller): void {
  if (caller.role !== 'ops' && caller.role !== 'system') throw forbidden('the audit is for ops keys');
}

export function requireAccountAccess(caller: Caller, code: string): void {
  if (caller.role !== 'seller') return;
  const definition = describeAccount(code);
  const ownerId = definition === undefined ? undefined : sellerIdOf(definition.code);
  if (ownerId === undefined || ownerId !== caller.sellerId) throw forbidden('a seller key may only read its own seller accounts');
}
