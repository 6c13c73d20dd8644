// The one fleet of simulated registers (fleet.ts), its register (register.ts), what it records
// (stats.ts), what it sends (workload.ts) and the ledger check (ledger.ts).
export * from './fleet.js';
export * from './ledger.js';
export * from './register.js';
export * from './stats.js';
export * from './workload.js';
