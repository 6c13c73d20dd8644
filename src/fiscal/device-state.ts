// The hot state of one cash register: what the command rules need to answer its next request.
// Kept in Redis as a cache; every field can be rebuilt from ClickHouse (registry + the last
// stored document), which is what happens after Redis lost it or a request died midway.
import { createHmac } from 'node:crypto';

export type KkmStatus = 'active' | 'blocked' | 'deregistered';

export interface DeviceState {
  kkmId: number;
  orgId: number;
  pointId: number;
  /** The organization's BIN, for the same-taxpayer check. */
  orgBin: string;
  /** The KKM's KGD registration number, for the QR code (absent in states cached before it). */
  fnsKkmId?: string;
  status: KkmStatus;
  /** The token the device must send next. */
  token: number;
  /** Registry token generation this state's token descends from (admin reissue bumps it). */
  tokenEpoch: number;
  /** Number of fiscal documents stored so far (the last doc_seq). */
  seq: number;
  /** The last answered request, for retries: REQNUM, TOKEN it came with, command, answer. */
  lastReqNum: number;
  lastReqToken: number;
  lastCommand: number;
  lastAnswer: string;
  /** True when `last*` came from the last stored document rather than the last request. */
  lastFromHistory: boolean;
  /** The open shift, or the last closed one when `shiftOpen` is false (0: none yet). */
  shiftNumber: number;
  shiftOpen: boolean;
  /** Device wall clock of the shift's first document. */
  shiftOpenedAt: string;
  /** Highest printed_document_number seen (0: none). */
  lastPrinted: number;
  /** Cash in the drawer for the open shift, in tiyn. */
  cash: number;
  /** doc_seq of the last ticket while it may still be cancelled (only SYSTEM/INFO since), else 0. */
  cancellableSeq: number;
  /** Cash the cancellable ticket moved, to put back on cancellation. */
  cancellableCash: number;
}

/** The Redis hash of a device's state (ingest's state store; the cabinet reads its seq). */
export const deviceStateKey = (prefix: string, kkmId: number) => `${prefix}dev:${kkmId}`;

/** Whether a request header carries the device's token, or repeats its last request. */
export function presentsToken(s: DeviceState, h: { token: number; reqNum: number }): boolean {
  return h.token === s.token || (h.reqNum === s.lastReqNum && h.token === s.lastReqToken);
}

/** The part of the state stored with each document: enough to rebuild it. */
export type StoredState = Pick<
  DeviceState,
  | 'seq'
  | 'tokenEpoch'
  | 'shiftNumber'
  | 'shiftOpen'
  | 'shiftOpenedAt'
  | 'lastPrinted'
  | 'cash'
  | 'cancellableSeq'
  | 'cancellableCash'
>;

export function storedPart(s: DeviceState): StoredState {
  return {
    seq: s.seq,
    tokenEpoch: s.tokenEpoch,
    shiftNumber: s.shiftNumber,
    shiftOpen: s.shiftOpen,
    shiftOpenedAt: s.shiftOpenedAt,
    lastPrinted: s.lastPrinted,
    cash: s.cash,
    cancellableSeq: s.cancellableSeq,
    cancellableCash: s.cancellableCash,
  };
}

export interface KkmIdentity {
  kkmId: number;
  orgId: number;
  pointId: number;
  orgBin: string;
  fnsKkmId?: string;
  status: KkmStatus;
  token: number;
  tokenEpoch: number;
}

/** State of a device with no stored documents yet. */
export function freshState(kkm: KkmIdentity): DeviceState {
  return {
    ...kkm,
    seq: 0,
    lastReqNum: -1,
    lastReqToken: 0,
    lastCommand: -1,
    lastAnswer: '',
    lastFromHistory: false,
    shiftNumber: 0,
    shiftOpen: false,
    shiftOpenedAt: '',
    lastPrinted: 0,
    cash: 0,
    cancellableSeq: 0,
    cancellableCash: 0,
  };
}

/**
 * The next token after a fiscal document: a keyed hash of the device, the token it used and
 * the document number, so a recomputed answer carries the same token. Never 0.
 */
export function nextToken(secret: string, kkmId: number, token: number, seq: number): number {
  const digest = createHmac('sha256', secret).update(`${kkmId}:${token}:${seq}`).digest();
  return digest.readUInt32LE(0) || 1;
}

/** The fiscal ticket number: the device ID followed by its 10-digit document number. */
export function ticketNumber(kkmId: number, seq: number): string {
  return `${kkmId}${String(seq).padStart(10, '0')}`;
}
