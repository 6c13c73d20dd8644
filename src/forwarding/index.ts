// Forwarding to the tax authority: one forwarder per configured transport (http, file or
// none), each running only in the process that holds its lease. Started with the worker role.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ForwardingConfig, TransportName } from '../config/forwarding.js';
import { Coordination } from '../storage/coordination.js';
import type { Db } from '../storage/db.js';
import { ForwardingStore } from '../storage/forwarding.js';
import type { KkmEvents } from '../storage/kkm-events.js';
import type { DomainEvents } from '../telemetry/events.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Notifier } from '../telemetry/notifier.js';
import { FileTransport } from './file-transport.js';
import { Forwarder } from './forwarder.js';
import { HttpTransport } from './http-transport.js';
import { NoTransport, type ForwardTransport } from './transport.js';

export interface ForwardingDeps {
  config: ForwardingConfig;
  db: Db;
  redis: Redis;
  redisPrefix: string;
  kkmEvents: KkmEvents;
  events: DomainEvents;
  metrics: Metrics;
  notifier: Notifier;
  log: Logger;
}

export interface Forwarding {
  forwarders: Forwarder[];
  close(): Promise<void>;
}

export function buildTransport(
  name: TransportName,
  c: ForwardingConfig,
  log: Logger,
): ForwardTransport {
  if (name === 'http') {
    return new HttpTransport({
      url: c.url!,
      clientCertFile: c.clientCertFile,
      clientKeyFile: c.clientKeyFile,
      caFile: c.caFile,
      timeoutMs: c.timeoutMs,
      retries: c.retries,
      retryBaseMs: c.retryBaseMs,
      retryMaxMs: c.retryMaxMs,
      onRetry: (err, attempt) =>
        log.debug({ err: err.message, attempt }, 'forwarding: POST failed; retrying'),
    });
  }
  if (name === 'file') {
    return new FileTransport({
      dir: c.fileDir,
      maxBytes: c.fileMaxBytes,
      maxAgeMs: c.fileMaxAgeMs,
    });
  }
  return new NoTransport({ confirms: !forwardsToKgd(c) });
}

/**
 * Whether some configured transport sends to the tax authority (`none` only tracks positions):
 * then registry changes filed in the cabinet wait for the authority's confirmation.
 */
export const forwardsToKgd = (c: ForwardingConfig) => c.transports.some((t) => t !== 'none');

/** Each configured transport and where it sends, for the operator (no secrets). */
export function describeTransports(c: ForwardingConfig) {
  return c.transports.map((name) => {
    if (name === 'http') {
      const url = new URL(c.url!);
      return {
        name,
        destination: { url: `${url.origin}${url.pathname}`, clientCertificate: !!c.clientCertFile },
      };
    }
    return { name, destination: name === 'file' ? { dir: c.fileDir } : {} };
  });
}

export function startForwarding(d: ForwardingDeps): Forwarding {
  const { config: c } = d;
  const store = new ForwardingStore(d.db, d.redis, d.redisPrefix);
  const coordination = new Coordination(d.redis, d.redisPrefix);
  const log = d.log.child({ part: 'forwarding' });
  const forwarders = c.transports.map(
    (name) =>
      new Forwarder({
        transport: buildTransport(name, c, log),
        store,
        kkmEvents: d.kkmEvents,
        coordination,
        events: d.events,
        metrics: d.metrics,
        notifier: d.notifier,
        log,
        processName: `${hostname()}:${process.pid}`,
        settings: {
          batchSize: c.batchSize,
          lingerMs: c.lingerMs,
          pollMs: c.pollMs,
          dutyPercent: c.dutyPercent,
          gapMs: c.gapMs,
          leaseMs: c.leaseMs,
          lagAlertMs: c.lagAlertMs,
          retryBaseMs: c.retryBaseMs,
          retryMaxMs: c.retryMaxMs,
        },
      }),
  );
  for (const f of forwarders) f.start();
  return {
    forwarders,
    async close() {
      await Promise.all(forwarders.map((f) => f.close()));
    },
  };
}
