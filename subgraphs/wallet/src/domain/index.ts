// The wallet's pure domain: balances, event → change mapping, payout reservations and the
// invariant that ties the wallet to the ledger's seller accounts. No I/O.
export * from './wallet.js';
export * from './events.js';
export * from './reservation.js';
export * from './ledger-invariant.js';
