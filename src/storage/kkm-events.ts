// Registry events of a KKM as the tax authority is told of them: registered, re-registered,
// deregistered, blocked, unblocked, token reissued. Numbered per KKM (event_seq) so they are
// forwarded in order; the registry records one with every change, under the KKM's lock, so two
// never take the same number. The authority's confirmation is written back here (the only
// writer of kkm_events), and the KGD status of a KKM follows from its events: awaiting the
// authority's confirmation of its last registration, re-registration or deregistration, or done.
import { TupleParam } from '@clickhouse/client';
import type { Db } from './db.js';
import { nextVersion } from './repository.js';
import { chTime } from './values.js';

export const KKM_EVENT_KINDS = [
  'registered',
  'reregistered',
  'deregistered',
  'blocked',
  'unblocked',
  'token_reissued',
] as const;
export type KkmEventKind = (typeof KKM_EVENT_KINDS)[number];

/** Events the authority confirms, and the KGD status of a KKM while it has not. */
const AWAITING: Partial<Record<KkmEventKind, KgdStatus>> = {
  registered: 'awaiting_kgd_registration',
  reregistered: 'awaiting_reregistration',
  deregistered: 'awaiting_kgd_deregistration',
};
const DONE: Partial<Record<KkmEventKind, KgdStatus>> = {
  registered: 'registered',
  reregistered: 'registered',
  deregistered: 'deregistered',
};

export type KgdStatus =
  | 'awaiting_kgd_registration'
  | 'awaiting_reregistration'
  | 'awaiting_kgd_deregistration'
  | 'registered'
  | 'deregistered';

/** What the KKM was when the event happened (the forwarded document says it). */
export interface KkmEventSubject {
  kkmId: number;
  orgId: number;
  pointId: number;
  kgdNumber: string;
  bin: string;
  serialNumber: string;
  model: string;
}

export interface KkmEvent extends KkmEventSubject {
  eventSeq: number;
  kind: KkmEventKind;
  /** Milliseconds since the epoch. */
  at: number;
  detail: Record<string, unknown>;
  confirmedAt: number | null;
  reference: string;
}

interface EventRow {
  kkm_id: number;
  event_seq: number;
  kind: string;
  at_ms: number;
  org_id: number;
  point_id: number;
  kgd_number: string;
  bin: string;
  serial_number: string;
  model: string;
  detail: string;
  confirmed_ms: number | null;
  reference: string;
  version: number;
}

const SELECT_EVENTS = `SELECT kkm_id, event_seq, kind, toUnixTimestamp64Milli(at) AS at_ms, org_id,
  point_id, kgd_number, bin, serial_number, model, detail,
  if(isNull(confirmed_at), NULL, toUnixTimestamp64Milli(assumeNotNull(confirmed_at))) AS confirmed_ms,
  reference, version FROM kkm_events FINAL`;

const fromRow = (r: EventRow): KkmEvent => ({
  kkmId: Number(r.kkm_id),
  eventSeq: Number(r.event_seq),
  kind: r.kind as KkmEventKind,
  at: Number(r.at_ms),
  orgId: Number(r.org_id),
  pointId: Number(r.point_id),
  kgdNumber: r.kgd_number,
  bin: r.bin,
  serialNumber: r.serial_number,
  model: r.model,
  detail: JSON.parse(r.detail || '{}') as Record<string, unknown>,
  confirmedAt: r.confirmed_ms === null ? null : Number(r.confirmed_ms),
  reference: r.reference,
});

const toRow = (e: KkmEvent, version: number) => ({
  kkm_id: e.kkmId,
  event_seq: e.eventSeq,
  kind: e.kind,
  at: chTime(e.at),
  org_id: e.orgId,
  point_id: e.pointId,
  kgd_number: e.kgdNumber,
  bin: e.bin,
  serial_number: e.serialNumber,
  model: e.model,
  detail: JSON.stringify(e.detail),
  confirmed_at: e.confirmedAt === null ? null : chTime(e.confirmedAt),
  reference: e.reference,
  version,
});

export class KkmEvents {
  constructor(private readonly db: Db) {}

  /**
   * Records an event of a KKM as the next of its numbers. The caller holds the KKM's lock (the
   * registry does), or the KKM is new (`first`), so no other event takes the number.
   */
  async record(
    subject: KkmEventSubject,
    kind: KkmEventKind,
    detail: Record<string, unknown> = {},
    { first = false } = {},
  ): Promise<KkmEvent> {
    const eventSeq = first ? 1 : (await this.lastSeq(subject.kkmId)) + 1;
    const event: KkmEvent = {
      ...subject,
      eventSeq,
      kind,
      at: Date.now(),
      detail,
      confirmedAt: null,
      reference: '',
    };
    await this.db.insert('kkm_events', [toRow(event, nextVersion())]);
    return event;
  }

  /** The first event of many new KKMs (a bulk registration), in one insert. */
  async recordRegistered(subjects: KkmEventSubject[], detail: Record<string, unknown> = {}) {
    if (!subjects.length) return;
    const at = Date.now();
    await this.db.insert(
      'kkm_events',
      subjects.map((s) =>
        toRow(
          {
            ...s,
            eventSeq: 1,
            kind: 'registered',
            at,
            detail,
            confirmedAt: null,
            reference: '',
          },
          nextVersion(),
        ),
      ),
    );
  }

  /** Events of these KKMs by number: `wanted` pairs of (kkmId, eventSeq). */
  async byKeys(wanted: readonly (readonly [number, number])[]): Promise<KkmEvent[]> {
    if (!wanted.length) return [];
    const rows = await this.db.rows<EventRow>(
      `${SELECT_EVENTS} WHERE (kkm_id, event_seq) IN {keys:Array(Tuple(UInt32, UInt32))}
       ORDER BY kkm_id, event_seq`,
      { keys: wanted.map((pair) => new TupleParam([...pair])) },
    );
    return rows.map(fromRow);
  }

  async list(kkmId: number): Promise<KkmEvent[]> {
    const rows = await this.db.rows<EventRow>(
      `${SELECT_EVENTS} WHERE kkm_id = {kkm:UInt32} ORDER BY event_seq`,
      { kkm: kkmId },
    );
    return rows.map(fromRow);
  }

  /** The confirmed events of these KKMs. */
  async confirmedOf(kkmIds: readonly number[]): Promise<KkmEvent[]> {
    if (!kkmIds.length) return [];
    const rows = await this.db.rows<EventRow>(
      `${SELECT_EVENTS} WHERE kkm_id IN {ids:Array(UInt32)} AND confirmed_at IS NOT NULL
       ORDER BY kkm_id, event_seq`,
      { ids: kkmIds },
    );
    return rows.map(fromRow);
  }

  /**
   * Stores the authority's confirmations of events, `[kkmId, eventSeq, reference]` each, in one
   * read and one insert; returns the events newly confirmed (unknown ones and those confirmed
   * before are left out: the first confirmation counts).
   */
  async confirm(
    confirmations: readonly (readonly [number, number, string])[],
    at = Date.now(),
  ): Promise<KkmEvent[]> {
    if (!confirmations.length) return [];
    const reference = new Map(confirmations.map(([k, seq, ref]) => [`${k}:${seq}`, ref]));
    const events = await this.byKeys(confirmations.map(([k, seq]) => [k, seq] as const));
    const fresh = events
      .filter((e) => e.confirmedAt === null)
      .map((e) => ({
        ...e,
        confirmedAt: at,
        reference: reference.get(`${e.kkmId}:${e.eventSeq}`) ?? '',
      }));
    if (fresh.length) {
      await this.db.insert(
        'kkm_events',
        fresh.map((e) => toRow(e, nextVersion())),
      );
    }
    return fresh;
  }

  /**
   * The KGD status of a KKM: awaiting the confirmation of its last registration,
   * re-registration or deregistration, or what that confirmation made it; null without any.
   */
  async kgdStatus(kkmId: number): Promise<{ status: KgdStatus; since: number } | null> {
    return (await this.kgdStatuses([kkmId])).get(kkmId) ?? null;
  }

  /** The KGD status of each of these KKMs that has one, in one read. */
  async kgdStatuses(
    kkmIds: readonly number[],
  ): Promise<Map<number, { status: KgdStatus; since: number }>> {
    if (!kkmIds.length) return new Map();
    const rows = await this.db.rows<{
      kkm_id: number;
      kind: KkmEventKind;
      at_ms: number;
      confirmed_ms: number;
    }>(
      `SELECT kkm_id, argMax(kind, event_seq) AS kind, argMax(at_ms, event_seq) AS at_ms,
         argMax(ifNull(confirmed_ms, 0), event_seq) AS confirmed_ms
       FROM (${SELECT_EVENTS} WHERE kkm_id IN {ids:Array(UInt32)} AND kind IN {kinds:Array(String)})
       GROUP BY kkm_id`,
      { ids: kkmIds, kinds: Object.keys(AWAITING) },
    );
    return new Map(
      rows.map((r) => [
        Number(r.kkm_id),
        // 0: not confirmed (an aggregate would skip a NULL).
        Number(r.confirmed_ms) === 0
          ? { status: AWAITING[r.kind]!, since: Number(r.at_ms) }
          : { status: DONE[r.kind]!, since: Number(r.confirmed_ms) },
      ]),
    );
  }

  /** The highest event number of each KKM that has events. */
  async heads(): Promise<Map<number, number>> {
    const rows = await this.db.rows<{ kkm_id: number; seq: number }>(
      'SELECT kkm_id, max(event_seq) AS seq FROM kkm_events GROUP BY kkm_id',
    );
    return new Map(rows.map((r) => [Number(r.kkm_id), Number(r.seq)]));
  }

  private async lastSeq(kkmId: number): Promise<number> {
    const rows = await this.db.rows<{ seq: number }>(
      'SELECT max(event_seq) AS seq FROM kkm_events WHERE kkm_id = {kkm:UInt32}',
      { kkm: kkmId },
    );
    return Number(rows[0]?.seq ?? 0);
  }
}
