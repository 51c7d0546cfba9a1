// Event contracts: one zod schema and TypeScript type per versioned event, the registry keyed by
// `type@version`, routing keys, and the money policies producers and consumers share.
export * from './primitives.js';
export * from './policies.js';
export * from './payment.js';
export * from './order.js';
export * from './payout.js';
export * from './refund.js';
export * from './dispute.js';
export * from './psp.js';
export * from './psp-payout.js';
export * from './wallet.js';
export * from './timeline.js';
export * from './registry.js';
