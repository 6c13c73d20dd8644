// The harness tests and benches share: one register client (src/sim/kkm-client.ts, which the
// example session uses too), one admin client, one child-server launcher, a private Redis, the
// fleet of simulated registers with its ledger check, and process sampling.
export * from './admin-client.js';
export * from './child-server.js';
export * from './fleet/index.js';
export * from './ports.js';
export * from './private-redis.js';
export * from './process-stats.js';
export * from './redis-keys.js';
export * from './store.js';
