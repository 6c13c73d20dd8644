// Configuration from the environment, validated once at start. Every setting has a default
// so `npm start` on a fresh clone runs with no configuration at all.
import { join } from 'node:path';
import { envInt, type Env } from './env-values.js';
import { loadForwardingConfig, type ForwardingConfig } from './forwarding.js';
import { loadJobsConfig, type JobsConfig } from './jobs.js';
import { loadReceiptCheckConfig, type ReceiptCheckConfig } from './receipt-check.js';
import { loadSelfServiceConfig, type SelfServiceConfig } from './self-service.js';
export interface Config {
  tcpPort: number;
  httpPort: number;
  host: string;
  dataDir: string;
  redisUrl: string;
  /** Key prefix for everything this deployment keeps in Redis. */
  redisPrefix: string;
  clickhouseUrl: string | undefined;
  /** Embedded engine: chDB sessions for reads beside the writer's (0: reads share it). */
  readSessions: number;
  /** Embedded engine: spread each table's parts over the file system's block groups (ext4). */
  spreadParts: boolean;
  adminToken: string | undefined;
  /** Group commit: the most rows one insert carries, and how long a row may wait for company. */
  batchMaxRows: number;
  batchMaxDelayMs: number;
  /** Under load the linger follows the last commit's duration, up to this (0: never longer). */
  batchMaxLingerMs: number;
  /**
   * `lmdb`: group commits are acknowledged once synced into a local LMDB spool and drained into
   * ClickHouse in large batches (src/storage/spool.ts); `off`: straight into ClickHouse.
   */
  spool: {
    mode: 'off' | 'lmdb';
    dir: string;
    drainRows: number;
    drainDelayMs: number;
    maxRows: number;
  };
  /** Where group commits go: ClickHouse, or nowhere (`noop`, benchmark baseline only). */
  store: 'clickhouse' | 'noop';
  maxFrameBytes: number;
  maxConnections: number;
  /** TCP connections one remote address may hold at once (0: no limit). */
  maxConnectionsPerAddress: number;
  idleTimeoutMs: number;
  /** A TCP frame must be whole within this many ms of its first byte (slow senders). */
  frameDeadlineMs: number;
  /** When set, GET /metrics needs `Authorization: Bearer <it>`. */
  metricsToken: string | undefined;
  /** Serve the interactive API docs page at /api/v1/docs. */
  apiDocs: boolean;
  /** An HTTP request (headers and body) must arrive whole within this many ms. */
  httpRequestTimeoutMs: number;
  /** Requests per second a device ID may make (token bucket of `deviceBurst`; 0: no limit). */
  deviceRate: number;
  deviceBurst: number;
  /** Requests per second one remote address may make (bucket of `addressBurst`; 0: no limit). */
  addressRate: number;
  addressBurst: number;
  /** Wrong-token requests per second one address may make (bucket of `wrongTokenBurst`). */
  wrongTokenRate: number;
  wrongTokenBurst: number;
  /**
   * Which reverse proxies' X-Forwarded-For to believe for the client address (login throttle,
   * rate limits, logs): false (none), true (any), or addresses/CIDRs.
   */
  trustProxy: boolean | string;
  /** How long one device's request may hold its state before another may take it over. */
  deviceLeaseMs: number;
  /** Device states an ingest process keeps to skip reading them back from Redis (0: none). */
  stateCacheEntries: number;
  claimLingerMs: number;
  /**
   * Requests per ingest process rebuilding a device state from ClickHouse at once (a first
   * contact, or any after a Redis flush); beyond it they are answered 254 and retried.
   */
  maxRebuilds: number;
  /** Devices whose rebuild reads go as one query. */
  rebuildBatch: number;
  /** Hours a shift may stay open before online documents get OPEN_SHIFT_TIMEOUT_EXPIRED. */
  shiftMaxHours: number;
  /** Base of the receipt-check URL printed as the QR code. */
  receiptUrl: string;
  /** The public receipt check: rate limit per address, answer cache. */
  receiptCheck: ReceiptCheckConfig;
  /** A KKM heard from (document or device event) within this many seconds counts as online. */
  kkmOnlineWindowSeconds: number;
  /** The built web cabinet served at / (empty: the package's dist/web). */
  webDir: string;
  logLevel: string;
  roles: Set<Role>;
  /**
   * KKM TCP connections are served by this many child processes (node:cluster), each with its
   * own JavaScript thread and file-descriptor limit; 0: by the server process itself.
   */
  ingestProcesses: number;
  /** Background jobs: reconciliation, exports, monitors. */
  jobs: JobsConfig;
  /** The cabinet's self-service: EDS, one-time codes, SMS gateway. */
  selfService: SelfServiceConfig;
  /** Ingest request-rate buckets: kept in Redis for every ingest process, or per process. */
  rateBuckets: 'redis' | 'local';
  /** Forwarding to the tax authority (runs with the worker role). */
  forwarding: ForwardingConfig;
}

export type Role = 'ingest' | 'api' | 'worker';
const ROLES: Role[] = ['ingest', 'api', 'worker'];

/** A group commit not done this long after its row was handed in answers 254. */
export const COMMIT_TIMEOUT_MS = 4000;

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** OFD_TRUST_PROXY: unset or `false`, `true`, or comma-separated addresses/CIDRs. */
function trustProxy(raw: string | undefined): boolean | string {
  const text = (raw ?? '').trim();
  if (text === '' || text === 'false') return false;
  return text === 'true' ? true : text;
}

export function loadConfig(env: Env = process.env, argv: string[] = process.argv.slice(2)): Config {
  const problems: string[] = [];
  const int = envInt(env, problems);
  const str = (name: string, fallback: string): string => env[name] || fallback;

  const redisUrl = str('REDIS_URL', 'redis://127.0.0.1:6379');
  if (!/^rediss?:\/\//.test(redisUrl)) problems.push(`REDIS_URL=${redisUrl}: expected redis://…`);
  const clickhouseUrl = env.CLICKHOUSE_URL || undefined;
  if (clickhouseUrl && !/^https?:\/\//.test(clickhouseUrl)) {
    problems.push(`CLICKHOUSE_URL=${clickhouseUrl}: expected http(s)://…`);
  }
  const adminToken = env.OFD_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) {
    problems.push('OFD_ADMIN_TOKEN: use at least 16 characters');
  }
  const roleArg = argv.find((a) => a.startsWith('--role='))?.slice('--role='.length);
  const roleText = roleArg ?? env.OFD_ROLES ?? 'ingest,api,worker';
  const roles = new Set<Role>();
  for (const r of roleText.split(',').map((s) => s.trim())) {
    if (r === 'all') ROLES.forEach((x) => roles.add(x));
    else if ((ROLES as string[]).includes(r)) roles.add(r as Role);
    else problems.push(`role ${r}: expected one of ${ROLES.join(', ')} or all`);
  }

  // Request rates: a burst of five seconds' worth unless set.
  const deviceRate = int('OFD_DEVICE_RATE', 20, 0, 1_000_000);
  const addressRate = int('OFD_ADDRESS_RATE', 2000, 0, 1_000_000);
  const wrongTokenRate = int('OFD_WRONG_TOKEN_RATE', 2, 0, 1_000_000);
  const receiptUrl = str('OFD_RECEIPT_URL', 'http://localhost:8080/receipt');

  const dataDir = str('DATA_DIR', './data');
  const config: Config = {
    tcpPort: int('OFD_TCP_PORT', 7777, 0, 65535),
    httpPort: int('OFD_HTTP_PORT', 8080, 0, 65535),
    host: str('OFD_HOST', '0.0.0.0'),
    dataDir,
    redisUrl,
    redisPrefix: str('OFD_REDIS_PREFIX', 'ofd:'),
    clickhouseUrl,
    readSessions: int('OFD_READ_SESSIONS', 2, 0, 16),
    spreadParts: env.OFD_SPREAD_PARTS !== 'off',
    adminToken,
    batchMaxRows: int('OFD_BATCH_MAX_ROWS', 1000, 1, 100_000),
    batchMaxDelayMs: int('OFD_BATCH_MAX_DELAY_MS', 1, 0, 1000),
    batchMaxLingerMs: int('OFD_BATCH_MAX_LINGER_MS', 200, 0, 1000),
    spool: {
      mode: env.OFD_SPOOL === 'lmdb' ? 'lmdb' : 'off',
      dir: str('OFD_SPOOL_DIR', join(dataDir, 'spool')),
      drainRows: int('OFD_SPOOL_DRAIN_ROWS', 5000, 1, 100_000),
      drainDelayMs: int('OFD_SPOOL_DRAIN_MS', 1000, 1, 60_000),
      maxRows: int('OFD_SPOOL_MAX_ROWS', 500_000, 1000, 50_000_000),
    },
    store: env.OFD_STORE === 'noop' ? 'noop' : 'clickhouse',
    maxFrameBytes: int('OFD_MAX_FRAME_BYTES', 1024 * 1024, 64, 64 * 1024 * 1024),
    maxConnections: int('OFD_MAX_CONNECTIONS', 100_000, 1, 1_000_000),
    maxConnectionsPerAddress: int('OFD_MAX_CONNECTIONS_PER_ADDRESS', 1000, 0, 1_000_000),
    idleTimeoutMs: int('OFD_IDLE_TIMEOUT_MS', 120_000, 100, 86_400_000),
    frameDeadlineMs: int('OFD_FRAME_DEADLINE_MS', 10_000, 100, 3_600_000),
    metricsToken: env.OFD_METRICS_TOKEN || undefined,
    apiDocs: env.OFD_API_DOCS !== 'off',
    httpRequestTimeoutMs: int('OFD_HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
    deviceRate,
    deviceBurst: int('OFD_DEVICE_BURST', Math.max(1, deviceRate * 5), 1, 10_000_000),
    addressRate,
    addressBurst: int('OFD_ADDRESS_BURST', Math.max(1, addressRate * 5), 1, 10_000_000),
    wrongTokenRate,
    wrongTokenBurst: int('OFD_WRONG_TOKEN_BURST', Math.max(1, wrongTokenRate * 10), 1, 10_000_000),
    trustProxy: trustProxy(env.OFD_TRUST_PROXY),
    // A request's rows are never inserted after its claim could pass to another request, so
    // the claim must outlast a commit: shorter settings are raised to the commit timeout + 1 s.
    deviceLeaseMs: Math.max(
      int('OFD_DEVICE_LEASE_MS', 5_000, 50, 600_000),
      COMMIT_TIMEOUT_MS + 1000,
    ),
    stateCacheEntries: int('OFD_STATE_CACHE_ENTRIES', 100_000, 0, 10_000_000),
    claimLingerMs: int('OFD_CLAIM_LINGER_MS', 5, 0, 50),
    maxRebuilds: int('OFD_MAX_REBUILDS', 4000, 1, 1_000_000),
    rebuildBatch: int('OFD_REBUILD_BATCH', 5000, 1, 100_000),
    shiftMaxHours: int('OFD_SHIFT_MAX_HOURS', 24, 1, 240),
    receiptUrl,
    receiptCheck: loadReceiptCheckConfig(env, problems, receiptUrl),
    kkmOnlineWindowSeconds: int('OFD_KKM_ONLINE_WINDOW_S', 600, 1, 86_400),
    webDir: str('OFD_WEB_DIR', ''),
    logLevel: str('LOG_LEVEL', 'info'),
    roles,
    ingestProcesses: int('OFD_INGEST_PROCESSES', 0, 0, 64),
    jobs: loadJobsConfig(env, problems),
    selfService: loadSelfServiceConfig(env, problems),
    rateBuckets: env.OFD_RATE_BUCKETS === 'local' ? 'local' : 'redis',
    forwarding: loadForwardingConfig(env, problems, dataDir),
  };
  if (env.OFD_RATE_BUCKETS && !['redis', 'local'].includes(env.OFD_RATE_BUCKETS)) {
    problems.push(`OFD_RATE_BUCKETS=${env.OFD_RATE_BUCKETS}: expected redis or local`);
  }
  if (config.metricsToken !== undefined && config.metricsToken.length < 16) {
    problems.push('OFD_METRICS_TOKEN: use at least 16 characters');
  }
  if (env.OFD_API_DOCS && !['on', 'off'].includes(env.OFD_API_DOCS)) {
    problems.push(`OFD_API_DOCS=${env.OFD_API_DOCS}: expected on or off`);
  }
  if (env.OFD_SPOOL && !['off', 'lmdb'].includes(env.OFD_SPOOL)) {
    problems.push(`OFD_SPOOL=${env.OFD_SPOOL}: expected off or lmdb`);
  }
  if (env.OFD_STORE && !['clickhouse', 'noop'].includes(env.OFD_STORE)) {
    problems.push(`OFD_STORE=${env.OFD_STORE}: expected clickhouse or noop`);
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}
