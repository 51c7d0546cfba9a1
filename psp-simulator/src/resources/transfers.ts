// /v1/transfers: instant transfers to a connected account (no account is simulated).
import { noSuchObject } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { StoredObject } from '../core/types.js';
import { fieldEquals, listObjects } from '../api/list.js';
import { applyMetadata, optionalString, requiredAmount, requiredCurrency, requiredString } from '../api/params.js';
import type { ApiCall } from '../api/types.js';
import { createBalanceTransaction } from './balanceTransactions.js';

export function createTransfer({ sim, params }: ApiCall): object {
  const amount = requiredAmount(params, 'amount');
  const currency = requiredCurrency(params);
  const destination = requiredString(params, 'destination');
  // Every parameter is read before anything is written: a rejected request moves no money.
  const description = optionalString(params, 'description') ?? null;
  const metadata = applyMetadata({}, params);
  const sourceTransaction = optionalString(params, 'source_transaction') ?? null;
  const transferGroup = optionalString(params, 'transfer_group') ?? null;
  const id = newId('tr');
  const transaction = createBalanceTransaction(sim, {
    amount: -amount,
    currency,
    fee: 0,
    type: 'transfer',
    reportingCategory: 'transfer',
    source: id,
    description,
  });
  const transfer: StoredObject = {
    id,
    object: 'transfer',
    amount,
    amount_reversed: 0,
    balance_transaction: transaction.id,
    created: sim.clock.nowSeconds(),
    currency,
    description,
    destination,
    destination_payment: newId('py'),
    livemode: false,
    metadata,
    reversals: { object: 'list', data: [], has_more: false, url: `/v1/transfers/${id}/reversals` },
    reversed: false,
    source_transaction: sourceTransaction,
    source_type: 'card',
    transfer_group: transferGroup,
  };
  sim.store.save(transfer);
  sim.events.emit('transfer.created', transfer);
  return transfer;
}

export function retrieveTransfer({ sim, pathParams }: ApiCall): object {
  const id = pathParams.id ?? '';
  const transfer = sim.store.get(id, 'transfer');
  if (!transfer) throw noSuchObject('transfer', id, 'transfer');
  return transfer;
}

export function listTransfers({ sim, params }: ApiCall): object {
  return listObjects(sim.store, 'transfer', '/v1/transfers', params, [fieldEquals(params, 'destination'), fieldEquals(params, 'transfer_group')]);
}

