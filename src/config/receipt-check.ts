// Settings of the buyer's receipt check (GET /receipt and its JSON), read from the environment
// with the rest of the configuration. Every one has a default.
import { envInt, type Env } from './env-values.js';

export interface ReceiptCheckConfig {
  /** The page's path: the path of OFD_RECEIPT_URL, which the QR codes point at. */
  pagePath: string;
  /** Checks one remote address may make per window, shared by every process (0: no limit). */
  rateMax: number;
  rateWindowMs: number;
  /** Answers kept in each API process, and for how long (also the answers' max-age). */
  cacheEntries: number;
  cacheTtlMs: number;
  /**
   * Days a receipt stays in the Redis read model after its last commit (the check reads the
   * engine only for older ones, or after a flush); 0: no read model, every miss reads the engine.
   */
  redisDays: number;
}

export function loadReceiptCheckConfig(
  env: Env,
  problems: string[],
  receiptUrl: string,
): ReceiptCheckConfig {
  const int = envInt(env, problems);
  let pagePath = '/receipt';
  try {
    pagePath = new URL(receiptUrl).pathname;
  } catch {
    problems.push(`OFD_RECEIPT_URL=${receiptUrl}: expected an absolute http(s) URL`);
  }
  return {
    pagePath,
    rateMax: int('OFD_RECEIPT_RATE_MAX', 60, 0, 1_000_000_000),
    rateWindowMs: int('OFD_RECEIPT_RATE_WINDOW_MS', 60_000, 1000, 86_400_000),
    cacheEntries: int('OFD_RECEIPT_CACHE_ENTRIES', 100_000, 0, 10_000_000),
    cacheTtlMs: int('OFD_RECEIPT_CACHE_TTL_MS', 60_000, 1000, 3_600_000),
    redisDays: int('OFD_RECEIPT_CHECK_CACHE_DAYS', 30, 0, 3650),
  };
}
