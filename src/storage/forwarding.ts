// What forwarding to the tax authority reads and keeps. It reads committed documents from
// `documents` (the raw request bytes as the register sent them, header and body) and registry
// events from `kkm_events`; it keeps, per transport and KKM, the last document and event the
// receiver took (forwarding_positions, the only copy: a Redis flush loses nothing) and the
// operators' replay requests (forwarding_replays). This repository is the only writer of both
// tables. The live state of a running forwarder (last batch, last error) is a Redis value: it is
// rewritten after every batch, and losing it loses nothing but the display.
import { randomUUID } from 'node:crypto';
import { TupleParam } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import type { DocType } from '../fiscal/document-rows.js';
import type { Db } from './db.js';
import { nextVersion } from './repository.js';
import { chTime } from './values.js';

/** How far one stream of a KKM has got: its documents (doc_seq) and its events (event_seq). */
export interface StreamPositions {
  doc: number;
  event: number;
}

/** A KKM with something not yet taken by a transport's receiver. */
export interface PendingKkm {
  kkmId: number;
  head: StreamPositions;
  forwarded: StreamPositions;
}

/** A committed document as forwarded: the register's request bytes and what identifies them. */
export interface StoredDocument {
  kkmId: number;
  docSeq: number;
  docType: DocType;
  kgdNumber: string;
  bin: string;
  /** Our number for it: the ticket number for a receipt, else the KKM id and document number. */
  ticketNumber: string;
  /** The register's wall-clock time, `YYYY-MM-DD hh:mm:ss`, no zone. */
  deviceTime: string;
  /** Our receive time, milliseconds since the epoch (UTC). */
  receivedAt: number;
  /** The request frame, header and body, base64. */
  raw: string;
}

export interface Replay {
  transport: string;
  id: string;
  /** 0: every KKM. */
  kkmId: number;
  /** Documents received (and events made) at or after this time are sent again; epoch ms. */
  from: number;
  requestedAt: number;
  appliedAt: number | null;
  /** KKMs whose position it moved back. */
  rewound: number;
}

/** A running forwarder's account of itself, shown by GET /api/v1/admin/forwarding. */
export interface ForwarderStatus {
  /** This process holds the transport's lease and forwards. */
  holder: string;
  updatedAt: number;
  lastBatchAt: number | null;
  lastBatchDocuments: number;
  lastOkAt: number | null;
  lastError: string | null;
  consecutiveFailures: number;
  /** When the lag last passed the threshold, while it still does. */
  lagAlertSince: number | null;
}

interface ReplayRow {
  transport: string;
  replay_id: string;
  kkm_id: number;
  from_ms: number;
  requested_ms: number;
  applied_ms: number | null;
  rewound: number;
}

const ms = (column: string) => `toUnixTimestamp64Milli(${column})`;

const SELECT_REPLAYS = `SELECT transport, replay_id, kkm_id, ${ms('from_time')} AS from_ms,
  ${ms('requested_at')} AS requested_ms,
  if(isNull(applied_at), NULL, ${ms('assumeNotNull(applied_at)')}) AS applied_ms, rewound
  FROM forwarding_replays FINAL`;

const replayFromRow = (r: ReplayRow): Replay => ({
  transport: r.transport,
  id: r.replay_id,
  kkmId: Number(r.kkm_id),
  from: Number(r.from_ms),
  requestedAt: Number(r.requested_ms),
  appliedAt: r.applied_ms === null ? null : Number(r.applied_ms),
  rewound: Number(r.rewound),
});

const replayRow = (r: Replay) => ({
  transport: r.transport,
  replay_id: r.id,
  kkm_id: r.kkmId,
  from_time: chTime(r.from),
  requested_at: chTime(r.requestedAt),
  applied_at: r.appliedAt === null ? null : chTime(r.appliedAt),
  rewound: r.rewound,
  version: nextVersion(),
});

const pairs = (wanted: readonly (readonly [number, number])[]) =>
  wanted.map((pair) => new TupleParam([...pair]));

/**
 * Re-derives the heads of these KKMs, or of every KKM with documents received since a time,
 * from the documents themselves. The materialized view writes a head as a part of its own in
 * the same INSERT as the documents: a process killed between the two parts (or an insert that
 * failed after the first) leaves a stored document its head never counted, and a KKM that then
 * falls silent would hold that document back from the receiver for good. max() makes this
 * idempotent, so healing a head that was right changes nothing.
 */
export async function healHeads(
  db: Pick<Db, 'rows' | 'insert'>,
  scope: { kkmIds: readonly number[] } | { receivedSince: number },
): Promise<number> {
  const where =
    'kkmIds' in scope
      ? 'kkm_id IN {ids:Array(UInt32)}'
      : // device_time leaves out the monthly partitions a month older (no register is offline
        // that long), so a restart does not read the whole history's receive times.
        `received_at >= fromUnixTimestamp64Milli(toInt64({since:Int64}))
         AND device_time >= toDateTime(intDiv({since:Int64}, 1000) - 31 * 86400)`;
  if ('kkmIds' in scope && !scope.kkmIds.length) return 0;
  const heads = await db.rows<{ kkm_id: number; doc_seq: number }>(
    `SELECT kkm_id, max(doc_seq) AS doc_seq FROM documents WHERE ${where} GROUP BY kkm_id`,
    'kkmIds' in scope ? { ids: scope.kkmIds } : { since: Math.floor(scope.receivedSince) },
  );
  if (heads.length) await db.insert('forwarding_heads', heads);
  return heads.length;
}

export class ForwardingStore {
  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  /**
   * Every KKM with documents or events beyond what `transport` forwarded: the heads (one row
   * per KKM, kept by a materialized view) joined with the positions, in ClickHouse.
   */
  async pending(transport: string): Promise<PendingKkm[]> {
    const rows = await this.db.rows<{
      kkm_id: number;
      head_doc: number;
      head_event: number;
      doc_seq: number;
      event_seq: number;
    }>(
      `SELECT h.kkm_id AS kkm_id, h.head_doc AS head_doc, h.head_event AS head_event,
         p.doc_seq AS doc_seq, p.event_seq AS event_seq
       FROM (
         SELECT kkm_id, max(d) AS head_doc, max(e) AS head_event FROM (
           SELECT kkm_id, doc_seq AS d, toUInt32(0) AS e FROM forwarding_heads
           UNION ALL
           SELECT kkm_id, toUInt32(0) AS d, event_seq AS e FROM kkm_events
         ) GROUP BY kkm_id) AS h
       LEFT JOIN (
         SELECT kkm_id, doc_seq, event_seq FROM forwarding_positions FINAL
         WHERE transport = {transport:String}) AS p ON p.kkm_id = h.kkm_id
       WHERE h.head_doc > p.doc_seq OR h.head_event > p.event_seq
       ORDER BY kkm_id`,
      { transport },
    );
    return rows.map((r) => ({
      kkmId: Number(r.kkm_id),
      head: { doc: Number(r.head_doc), event: Number(r.head_event) },
      forwarded: { doc: Number(r.doc_seq), event: Number(r.event_seq) },
    }));
  }

  /** See healHeads. */
  healHeads(scope: Parameters<typeof healHeads>[1]): Promise<number> {
    return healHeads(this.db, scope);
  }

  /** Committed documents by (kkmId, docSeq), in that order, one copy each. */
  async documents(wanted: readonly (readonly [number, number])[]): Promise<StoredDocument[]> {
    if (!wanted.length) return [];
    const kkmIds = [...new Set(wanted.map(([kkm]) => kkm))];
    const rows = await this.db.rows<{
      kkm_id: number;
      doc_seq: number;
      doc_type: DocType;
      kgd_number: string;
      bin: string;
      ticket_number: string;
      device_time: string;
      received_ms: number;
      raw_request: string;
    }>(
      // Every copy of a document row is the same (a retried document recomputes it): LIMIT 1 BY,
      // no FINAL. A receipt carries the KKM's KGD number as it was; other documents take it
      // from the registry.
      `SELECT d.kkm_id AS kkm_id, d.doc_seq AS doc_seq, toString(d.doc_type) AS doc_type,
         if(d.fns_kkm_id != '', d.fns_kkm_id, k.fns_kkm_id) AS kgd_number, o.bin AS bin,
         d.ticket_number AS ticket_number, toString(d.device_time) AS device_time,
         ${ms('d.received_at')} AS received_ms, d.raw_request AS raw_request
       FROM (
         SELECT kkm_id, doc_seq, doc_type, org_id, fns_kkm_id, ticket_number, device_time,
           received_at, raw_request
         FROM documents WHERE (kkm_id, doc_seq) IN {keys:Array(Tuple(UInt32, UInt32))}
         LIMIT 1 BY kkm_id, doc_seq) AS d
       LEFT JOIN (SELECT kkm_id, fns_kkm_id, org_id FROM kkms FINAL
         WHERE kkm_id IN {ids:Array(UInt32)}) AS k ON k.kkm_id = d.kkm_id
       LEFT JOIN (SELECT org_id, bin FROM orgs FINAL WHERE org_id IN (
         SELECT org_id FROM kkms WHERE kkm_id IN {ids:Array(UInt32)})) AS o ON o.org_id = d.org_id
       ORDER BY kkm_id, doc_seq`,
      { keys: pairs(wanted), ids: kkmIds },
    );
    return rows.map((r) => ({
      kkmId: Number(r.kkm_id),
      docSeq: Number(r.doc_seq),
      docType: r.doc_type,
      kgdNumber: r.kgd_number,
      bin: r.bin,
      ticketNumber: r.ticket_number,
      deviceTime: r.device_time,
      receivedAt: Number(r.received_ms),
      raw: r.raw_request,
    }));
  }

  /** The first document of a KKM after `docSeq`, for stepping over a gap in its numbers. */
  async nextDocSeq(kkmId: number, docSeq: number): Promise<number | null> {
    const [row] = await this.db.rows<{ seq: number | null }>(
      `SELECT minOrNull(doc_seq) AS seq FROM documents
       WHERE kkm_id = {kkm:UInt32} AND doc_seq > {seq:UInt32}`,
      { kkm: kkmId, seq: docSeq },
    );
    return row?.seq === null || row?.seq === undefined ? null : Number(row.seq);
  }

  /** Receive time (epoch ms) of the oldest document not yet forwarded, or null. */
  async oldestPending(pending: readonly PendingKkm[]): Promise<number | null> {
    const behind = pending.filter((p) => p.head.doc > p.forwarded.doc);
    if (!behind.length) return null;
    const [row] = await this.db.rows<{ oldest: number | null }>(
      `SELECT minOrNull(${ms('received_at')}) AS oldest FROM documents
       WHERE (kkm_id, doc_seq) IN {keys:Array(Tuple(UInt32, UInt32))}`,
      { keys: pairs(behind.map((p) => [p.kkmId, p.forwarded.doc + 1] as const)) },
    );
    return row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest);
  }

  /** Records what the receiver took: the new positions of these KKMs. */
  async savePositions(
    transport: string,
    positions: readonly ({ kkmId: number } & StreamPositions)[],
  ): Promise<void> {
    if (!positions.length) return;
    const at = chTime(Date.now());
    await this.db.insert(
      'forwarding_positions',
      positions.map((p) => ({
        transport,
        kkm_id: p.kkmId,
        doc_seq: p.doc,
        event_seq: p.event,
        forwarded_at: at,
        version: nextVersion(),
      })),
    );
  }

  /** Forwarded positions of a transport, by KKM. */
  async positions(transport: string): Promise<Map<number, StreamPositions>> {
    const rows = await this.db.rows<{ kkm_id: number; doc_seq: number; event_seq: number }>(
      `SELECT kkm_id, doc_seq, event_seq FROM forwarding_positions FINAL
       WHERE transport = {transport:String}`,
      { transport },
    );
    return new Map(
      rows.map((r) => [Number(r.kkm_id), { doc: Number(r.doc_seq), event: Number(r.event_seq) }]),
    );
  }

  /** Asks each transport's forwarder to send again what came at or after `from`. */
  async requestReplay(transports: readonly string[], kkmId: number, from: number) {
    const requestedAt = Date.now();
    const replays: Replay[] = transports.map((transport) => ({
      transport,
      id: randomUUID(),
      kkmId,
      from,
      requestedAt,
      appliedAt: null,
      rewound: 0,
    }));
    await this.db.insert('forwarding_replays', replays.map(replayRow));
    return replays;
  }

  /** Replays of a transport, oldest first; only those not yet applied with `waiting`. */
  async replays(transport: string, { waiting = false, limit = 100 } = {}): Promise<Replay[]> {
    const rows = await this.db.rows<ReplayRow>(
      `SELECT * FROM (${SELECT_REPLAYS} WHERE transport = {transport:String}
         ${waiting ? 'AND isNull(applied_at)' : ''}
         ORDER BY requested_ms DESC LIMIT {limit:UInt32}) ORDER BY requested_ms`,
      { transport, limit },
    );
    return rows.map(replayFromRow);
  }

  /**
   * Applies a replay: every KKM it names with documents or events at or after its time gets
   * its position moved back to just before the first of them (never forward), then the replay
   * is marked applied. Applying it twice (a crash in between) only resends again.
   */
  async applyReplay(replay: Replay): Promise<Replay> {
    const kkmFilter = replay.kkmId ? 'AND kkm_id = {kkm:UInt32}' : '';
    const params = { from: chTime(replay.from), kkm: replay.kkmId };
    const [docs, events, current] = await Promise.all([
      this.db.rows<{ kkm_id: number; first: number }>(
        `SELECT kkm_id, min(doc_seq) AS first FROM documents
         WHERE received_at >= {from:DateTime64(3, 'UTC')} ${kkmFilter} GROUP BY kkm_id`,
        params,
      ),
      this.db.rows<{ kkm_id: number; first: number }>(
        `SELECT kkm_id, min(event_seq) AS first FROM kkm_events
         WHERE at >= {from:DateTime64(3, 'UTC')} ${kkmFilter} GROUP BY kkm_id`,
        params,
      ),
      this.positions(replay.transport),
    ]);
    const moved = new Map<number, StreamPositions>();
    const moveBack = (rows: { kkm_id: number; first: number }[], stream: keyof StreamPositions) => {
      for (const r of rows) {
        const kkmId = Number(r.kkm_id);
        const at = moved.get(kkmId) ?? current.get(kkmId);
        if (!at || at[stream] < Number(r.first)) continue;
        moved.set(kkmId, { ...at, [stream]: Number(r.first) - 1 });
      }
    };
    moveBack(docs, 'doc');
    moveBack(events, 'event');
    await this.savePositions(
      replay.transport,
      [...moved].map(([kkmId, p]) => ({ kkmId, ...p })),
    );
    const applied = { ...replay, appliedAt: Date.now(), rewound: moved.size };
    await this.db.insert('forwarding_replays', [replayRow(applied)]);
    return applied;
  }

  async saveStatus(transport: string, status: ForwarderStatus): Promise<void> {
    await this.redis.set(this.statusKey(transport), JSON.stringify(status));
  }

  async status(transport: string): Promise<ForwarderStatus | null> {
    const text = await this.redis.get(this.statusKey(transport));
    return text ? (JSON.parse(text) as ForwarderStatus) : null;
  }

  private statusKey(transport: string): string {
    return `${this.keyPrefix}forwarding:status:${transport}`;
  }
}
