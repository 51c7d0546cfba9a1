// The ledger's pure domain: chart of accounts, transaction drafts and their validation, posting
// rules for every money movement, FX conversion and balance arithmetic. No I/O.
export * from './accounts.js';
export * from './errors.js';
export * from './types.js';
export * from './validate.js';
export * from './fx.js';
export * from './balances.js';
export { postPaymentSucceeded, postOrderDelivered, postRefundSucceeded, postRefundReversed } from './rules-payin.js';
export { postPayoutRequested, postPayoutPaid, postPayoutFailed } from './rules-payout.js';
export { postDisputeOpened, postDisputeWon, postDisputeLost } from './rules-dispute.js';
export { postPspFeeBooked, reverseTransaction, mirrorEntries } from './rules-misc.js';
export type { ReversalOptions } from './rules-misc.js';
