// Settings of forwarding to the tax authority (src/forwarding), read from the environment with
// the rest of the configuration. Every one has a default: with none set, the `none` transport
// tracks positions and sends nothing.
import { join } from 'node:path';
import { envInt, type Env } from './env-values.js';

export type TransportName = 'http' | 'file' | 'none';
const TRANSPORTS: TransportName[] = ['http', 'file', 'none'];

export interface ForwardingConfig {
  /** The transports that run, each with its own positions (OFD_FORWARD=off: none at all). */
  transports: TransportName[];
  /** Where the http transport POSTs batches. */
  url: string | undefined;
  /** PEM files of the http transport: client certificate and key (mTLS), CA to trust. */
  clientCertFile: string | undefined;
  clientKeyFile: string | undefined;
  caFile: string | undefined;
  /** Most documents one batch carries, and how long the oldest waits for company. */
  batchSize: number;
  lingerMs: number;
  /** How often committed documents are looked for. */
  pollMs: number;
  /**
   * While a backlog waits, the share of its time (percent) the forwarder spends reading and
   * sending; it rests the rest, so ingest keeps the cores at its peak and the backlog is
   * caught up after it.
   */
  dutyPercent: number;
  /**
   * A document number missing below a KKM's head this long (a request a crash numbered but never
   * stored) is stepped over.
   */
  gapMs: number;
  /** One POST's answer must come within this long. */
  timeoutMs: number;
  /** Attempts of one POST beyond the first; back-off from the base, doubling, to the maximum. */
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** A lag (oldest document not taken) above this raises a notification and a log line. */
  lagAlertMs: number;
  /** One forwarder per transport in the deployment: its lease lasts this long per renewal. */
  leaseMs: number;
  /** The file transport: its directory and when a segment is sealed (size, age). */
  fileDir: string;
  fileMaxBytes: number;
  fileMaxAgeMs: number;
}

export function loadForwardingConfig(
  env: Env,
  problems: string[],
  dataDir: string,
): ForwardingConfig {
  const int = envInt(env, problems);
  const url = env.OFD_FORWARD_URL || undefined;
  if (url && !/^https?:\/\/[^/]/.test(url)) {
    problems.push(`OFD_FORWARD_URL=${url}: expected http(s)://host…`);
  }
  const fileDir = env.OFD_FORWARD_DIR || undefined;
  // Unset: the transports whose destination is configured, else none.
  const named = env.OFD_FORWARD
    ? env.OFD_FORWARD.split(',').map((s) => s.trim())
    : [...(url ? ['http'] : []), ...(fileDir ? ['file'] : [])];
  const transports: TransportName[] = [];
  for (const name of named.length ? named : ['none']) {
    if (name === 'off') continue;
    if (!(TRANSPORTS as string[]).includes(name)) {
      problems.push(`OFD_FORWARD: ${name} is not one of ${TRANSPORTS.join(', ')}`);
    } else if (!transports.includes(name as TransportName)) transports.push(name as TransportName);
  }
  if (transports.includes('http') && !url) {
    problems.push('OFD_FORWARD=http needs OFD_FORWARD_URL');
  }
  const clientCertFile = env.OFD_FORWARD_CLIENT_CERT || undefined;
  const clientKeyFile = env.OFD_FORWARD_CLIENT_KEY || undefined;
  if (Boolean(clientCertFile) !== Boolean(clientKeyFile)) {
    problems.push('OFD_FORWARD_CLIENT_CERT and OFD_FORWARD_CLIENT_KEY go together');
  }
  return {
    transports,
    url,
    clientCertFile,
    clientKeyFile,
    caFile: env.OFD_FORWARD_CA || undefined,
    batchSize: int('OFD_FORWARD_BATCH', 1000, 1, 100_000),
    lingerMs: int('OFD_FORWARD_LINGER_MS', 1000, 0, 600_000),
    pollMs: int('OFD_FORWARD_POLL_MS', 500, 10, 60_000),
    dutyPercent: int('OFD_FORWARD_DUTY_PERCENT', 50, 1, 100),
    gapMs: int('OFD_FORWARD_GAP_MS', 60_000, 100, 86_400_000),
    timeoutMs: int('OFD_FORWARD_TIMEOUT_MS', 10_000, 100, 600_000),
    retries: int('OFD_FORWARD_RETRIES', 4, 0, 100),
    retryBaseMs: int('OFD_FORWARD_RETRY_BASE_MS', 250, 1, 600_000),
    retryMaxMs: int('OFD_FORWARD_RETRY_MAX_MS', 30_000, 1, 3_600_000),
    lagAlertMs: int('OFD_FORWARD_LAG_ALERT_S', 300, 1, 7 * 86_400) * 1000,
    leaseMs: int('OFD_FORWARD_LEASE_MS', 15_000, 300, 600_000),
    fileDir: fileDir ?? join(dataDir, 'forwarding'),
    fileMaxBytes: int('OFD_FORWARD_FILE_MAX_BYTES', 64 * 1024 * 1024, 1024, 2 ** 40),
    fileMaxAgeMs: int('OFD_FORWARD_FILE_MAX_AGE_MS', 3_600_000, 1000, 30 * 86_400_000),
  };
}
