// The payouts subgraph's pure domain: state machine, amount rules, FX, destinations, failures.
export * from './payout-status.js';
export * from './payout.js';
export * from './rules.js';
export * from './fx.js';
export * from './destinations.js';
export * from './failures.js';
export * from './psp-status.js';
