export * from './server.js';
export * from './metrics.js';
export * from './subgraph.js';
export * from './lifecycle.js';
export * from './subgraph-service.js';
export * from './periodic.js';
