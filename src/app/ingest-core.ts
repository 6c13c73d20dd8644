// The ingest role's core: device states, the group-commit writer, the command core and the
// request limits in front of it, shared by every transport (TCP, HTTP, WebSocket).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { COMMIT_TIMEOUT_MS, type Config } from '../config/config.js';
import { CommandCore } from '../ingest/command-core.js';
import { bulkReads } from '../ingest/bulk-reads.js';
import { RequestGuard, type KkmHandler } from '../ingest/request-limits.js';
import { SharedRateBuckets } from '../storage/rate-buckets.js';
import { StateStore } from '../ingest/state-store.js';
import { WrongTokenNotices } from '../ingest/wrong-token-notices.js';
import { CashierAuthLimits } from '../storage/cashier-auth-limits.js';
import type { Notifier } from '../telemetry/notifier.js';
import { BatchWriter, dbInsert, type InsertRows } from '../storage/batch-writer.js';
import type { Db } from '../storage/db.js';
import { repairDocument } from '../storage/document-repair.js';
import { ReceiptCheckCache } from '../storage/receipt-check-cache.js';
import { ReceiptLookup } from '../storage/receipt-lookup.js';
import { verifyPassword } from '../storage/passwords.js';
import type { Catalogue } from '../storage/catalogue.js';
import type { OrgProfile } from '../storage/org-profile.js';
import type { Registry } from '../storage/registry.js';
import { tokenSecret } from '../storage/settings.js';
import type { DomainEvents } from '../telemetry/events.js';
import type { Metrics } from '../telemetry/metrics.js';
import { PresenceTracker } from '../workers/monitors.js';

export interface IngestCoreDeps {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  registry: Registry;
  orgs: OrgProfile;
  catalogue: Catalogue;
  metrics: Metrics;
  events: DomainEvents;
  notifier: Notifier;
  /** Where group commits go instead of `db` (an ingest process: the server process's writer). */
  insertRows?: InsertRows;
  /** Where this process's own group commits go instead of straight into `db` (the spool). */
  commitRows?: InsertRows;
  /** Count this process's group commits in /metrics. */
  commitMetrics: boolean;
}

export interface IngestCore {
  states: StateStore;
  writer: BatchWriter;
  core: CommandCore;
  /** Answers one frame: the limits first, then the command core. */
  handle: KkmHandler;
  /** Whether a new connection or HTTP request from this address is within its rate. */
  admitAddress(address: string): boolean;
  close(): Promise<void>;
}

/** Spool commits that may run at once (see BatchWriterOptions.lanes). */
const SPOOL_COMMIT_LANES = 4;

export async function buildIngestCore(d: IngestCoreDeps): Promise<IngestCore> {
  const { config, log, metrics } = d;
  const states = new StateStore(
    d.redis,
    config.redisPrefix,
    config.deviceLeaseMs,
    config.stateCacheEntries,
    config.claimLingerMs,
  );
  // OFD_STORE=noop (benchmark baseline only): documents and device events are decoded, checked
  // and answered, but their group commits go nowhere.
  const insertRows: InsertRows =
    d.insertRows ??
    (config.store === 'noop'
      ? async () => {}
      : withReceiptCheck(d, d.commitRows ?? dbInsert(d.db)));
  const writer = new BatchWriter(
    insertRows,
    {
      maxRows: config.batchMaxRows,
      maxDelayMs: config.batchMaxDelayMs,
      // A spool commit waits on the disk's sync, not on the engine's CPU: no linger under load,
      // and the next batch goes to the disk beside the one syncing.
      maxLingerMs: d.commitRows ? 0 : config.batchMaxLingerMs,
      lanes: d.commitRows ? SPOOL_COMMIT_LANES : 1,
      maxPending: config.batchMaxRows * 50,
      commitTimeoutMs: COMMIT_TIMEOUT_MS,
    },
    (stats) => {
      if (d.commitMetrics) metrics.flush(stats);
      if (!stats.ok) log.error(stats, 'group commit failed');
    },
  );
  const presence = new PresenceTracker(
    d.redis,
    config.redisPrefix,
    Math.min(5000, Math.floor(config.jobs.kkmOfflineMs / 4)),
  );
  // Rebuilds read behind the inserts in flight (see Db.afterWrites), in batches of devices.
  const reads = bulkReads(d.registry, d.db.afterWrites?.() ?? d.db, {
    parallel: Math.max(1, d.db.parallelReads ?? 1),
    maxBatch: config.rebuildBatch,
    onBatch: (read, keys) => {
      metrics.batchedReads.inc({ read });
      metrics.batchedKeys.inc({ read }, keys);
    },
  });
  const core = new CommandCore({
    registry: reads.registry,
    orgs: d.orgs,
    catalogue: d.catalogue,
    states,
    writer,
    queries: reads.queries,
    maxRebuilds: config.maxRebuilds,
    tokenSecret: await tokenSecret(d.db),
    receiptUrl: config.receiptUrl,
    shiftMaxHours: config.shiftMaxHours,
    verifyPassword,
    cashierAuth: new CashierAuthLimits(d.redis, config.redisPrefix),
    log: log.child({ part: 'ingest' }),
    onAnswer: (command, code, ms, kkmId) => {
      metrics.answer(command, code, ms);
      // Heard from a known device (not an unknown id, a wrong token or garbage).
      if (code !== 1 && code !== 2 && code !== 3) presence.touch(kkmId);
    },
    onDocument: (doc) => void d.events.emit('document.acknowledged', doc),
    onRecovered: (kkmId, docSeq) =>
      void repairDocument(d.db, kkmId, docSeq).catch((err: unknown) =>
        log.warn({ err, kkmId, docSeq }, 'read models of a recovered document not repaired'),
      ),
  });
  // The organization hears of requests naming its register with a wrong token.
  const wrongTokens = new WrongTokenNotices((n) => {
    log.warn({ kkmId: n.kkmId, remote: n.address, count: n.count }, 'wrong-token requests');
    void (async () => {
      const kkm = await d.registry.kkms.getKkm(n.kkmId);
      if (!kkm) return;
      await d.notifier.raise([
        {
          orgId: kkm.orgId,
          kind: 'kkm_wrong_token',
          subject: `${n.kkmId}:${n.since.toISOString()}`,
          kkmId: n.kkmId,
          pointId: kkm.pointId,
          title: `KKM ${kkm.serialNumber || n.kkmId}: ${n.count} request(s) with a wrong token`,
          detail: { count: n.count, address: n.address, since: n.since.toISOString() },
        },
      ]);
    })().catch((err: unknown) => log.warn({ err }, 'wrong-token notification not stored'));
  });
  // Rate limits per device and per address, in front of the core for every transport.
  const shared =
    config.rateBuckets === 'redis' ? new SharedRateBuckets(d.redis, config.redisPrefix) : undefined;
  const guard = new RequestGuard(
    config,
    log.child({ part: 'limits' }),
    {
      onRefused: (scope, command) => {
        metrics.rateLimited.inc({ scope });
        metrics.answer(command, 254, 0);
      },
      knownState: (kkmId) => states.known(kkmId),
      onWrongToken: (kkmId, address) => {
        metrics.wrongToken.inc();
        wrongTokens.record(kkmId, address);
      },
    },
    shared,
  );
  return {
    states,
    writer,
    core,
    handle: guard.guard((frame, gate) => core.handle(frame, Date.now(), gate)),
    admitAddress(address) {
      if (guard.admitAddress(address)) return true;
      metrics.rateLimited.inc({ scope: 'address' });
      return false;
    },
    async close() {
      guard.close();
      wrongTokens.close();
      await writer.close();
    },
  };
}

/**
 * This process's commits of documents also write the receipt check's read model in Redis
 * (one pipeline per commit), after the insert and without delaying its acknowledgements.
 */
function withReceiptCheck(d: IngestCoreDeps, insert: InsertRows): InsertRows {
  const days = d.config.receiptCheck.redisDays;
  if (!days) return insert;
  const log = d.log.child({ part: 'receipt-check' });
  const onError = (err: Error) => log.warn({ err: err.message }, 'receipt check cache not written');
  const lookup = new ReceiptLookup(
    d.db,
    new ReceiptCheckCache(d.redis, d.config.redisPrefix, days, onError),
  );
  return async (table, rows, budgetMs) => {
    await insert(table, rows, budgetMs);
    // After the acknowledgements of this commit have gone out.
    if (table === 'documents') setImmediate(() => void lookup.committed(rows).catch(onError));
  };
}
