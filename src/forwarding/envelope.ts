// The reference format of what is forwarded: one envelope per document, the register's request
// bytes untouched in `raw`, with what identifies them beside. A real adapter to the authority
// maps these fields to its interface; the reference receiver reads them as they are.
import type { DocType } from '../fiscal/document-rows.js';
import { ticketNumber } from '../fiscal/device-state.js';
import type { StoredDocument } from '../storage/forwarding.js';
import type { KkmEvent } from '../storage/kkm-events.js';

export type ForwardedKind = DocType | 'kkm_event';

export interface ForwardedDocument {
  /** Idempotency key: the KKM and its document (or registry event) number. */
  key: string;
  kind: ForwardedKind;
  kgdNumber: string;
  bin: string;
  /** Our fiscal number of the document ('' for a registry event). */
  fiscalNumber: string;
  /** The register's time of the document, its wall clock without a zone (an event: UTC). */
  documentTime: string;
  /** When we received it, UTC. */
  receivedAt: string;
  /** The register's request, header and body, base64 (an event: its JSON, base64). */
  raw: string;
}

/** The body of one batch. */
export interface ForwardedBatch {
  documents: ForwardedDocument[];
}

/** The authority's answer about one document: a registry event confirmed, say. */
export interface Acknowledgement {
  key: string;
  status: 'confirmed' | 'rejected';
  /** The authority's reference for it, when it gives one. */
  reference?: string;
}

export const documentKey = (kkmId: number, docSeq: number) => `kkm:${kkmId}:doc:${docSeq}`;
export const eventKey = (kkmId: number, eventSeq: number) => `kkm:${kkmId}:event:${eventSeq}`;

/** The KKM and number a key names, or null for a key we never made. */
export function parseKey(
  key: string,
): { kkmId: number; stream: 'doc' | 'event'; seq: number } | null {
  const m = /^kkm:(\d{1,10}):(doc|event):(\d{1,10})$/.exec(key);
  if (!m) return null;
  return { kkmId: Number(m[1]), stream: m[2] as 'doc' | 'event', seq: Number(m[3]) };
}

export function documentEnvelope(d: StoredDocument): ForwardedDocument {
  return {
    key: documentKey(d.kkmId, d.docSeq),
    kind: d.docType,
    kgdNumber: d.kgdNumber,
    bin: d.bin,
    fiscalNumber: d.ticketNumber || ticketNumber(d.kkmId, d.docSeq),
    documentTime: d.deviceTime.replace(' ', 'T'),
    receivedAt: new Date(d.receivedAt).toISOString(),
    raw: d.raw,
  };
}

/** A registry event as a `kkm_event` document; the same event always gives the same bytes. */
export function eventEnvelope(e: KkmEvent): ForwardedDocument {
  const at = new Date(e.at).toISOString();
  const body = {
    event: e.kind,
    kkmId: e.kkmId,
    eventSeq: e.eventSeq,
    kgdNumber: e.kgdNumber,
    bin: e.bin,
    orgId: e.orgId,
    pointId: e.pointId,
    serialNumber: e.serialNumber,
    model: e.model,
    at,
    detail: e.detail,
  };
  return {
    key: eventKey(e.kkmId, e.eventSeq),
    kind: 'kkm_event',
    kgdNumber: e.kgdNumber,
    bin: e.bin,
    fiscalNumber: '',
    documentTime: at,
    receivedAt: at,
    raw: Buffer.from(JSON.stringify(body)).toString('base64'),
  };
}

/** Acknowledgements in a receiver's answer body (anything else in it is ignored). */
export function acknowledgementsOf(body: unknown): Acknowledgement[] {
  const list = (body as { acknowledgements?: unknown } | null)?.acknowledgements;
  if (!Array.isArray(list)) return [];
  return list.flatMap((a: unknown) => {
    const { key, status, reference } = (a ?? {}) as Record<string, unknown>;
    if (typeof key !== 'string' || (status !== 'confirmed' && status !== 'rejected')) return [];
    return [{ key, status, ...(typeof reference === 'string' ? { reference } : {}) }];
  });
}
