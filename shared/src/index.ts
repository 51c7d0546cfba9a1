// The workspace library every Clearhouse service uses. One folder per concern; each folder's
// index.ts is its public surface.
export * from './money/index.js';
export * from './config/index.js';
export * from './logging/index.js';
export * from './errors/index.js';
export * from './graphql/index.js';
export * from './messaging/index.js';
export * from './db/index.js';
export * from './auth/index.js';
export * from './http/index.js';
export * from './idempotency/index.js';
export * from './events/index.js';
export * from './invariant.js';
export * from './psp/index.js';
