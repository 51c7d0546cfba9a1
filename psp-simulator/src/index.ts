// Public surface of @clearhouse/psp-simulator (used by other workspaces' tests and scripts).
export { startSimulator, defaults, type SimulatorOptions, type RunningSimulator } from './server.js';
export { defaultRuntimeConfig, type RuntimeConfig } from './core/config.js';
export { signPayload } from './core/webhooks.js';
export { testCards } from './resources/cards.js';
export { failingDestinations } from './resources/payouts.js';
export { settlementColumns } from './admin/settlement.js';
export { dropDatabase } from './store/db.js';
