// Device-side helpers for the ingest tests: a KKM over TCP, HTTP or WebSocket, hand-made frames
// (wrong token, REQNUM, version or payload), reads of what the server stored, and the figures a
// Z report must show for a list of receipts and money placements.
import net from 'node:net';
import WebSocket from 'ws';
import { peekCommand } from '../../src/protocol/codec.js';
import { encodeFrame, HEADER_SIZE, readHeader } from '../../src/protocol/header.js';
import { toTiyn } from '../../src/fiscal/money.js';
import {
  lenient,
  Operation,
  PaymentType,
  Request,
  ResultCode,
  type IMoney,
  type IRequest,
  type ITicketRequest,
  type IZXReport,
} from '../../src/protocol/schema.js';
import {
  decodeAnswer,
  httpTransport,
  KkmDevice,
  type Answer,
  type Transport,
} from '../../src/sim/kkm-client.js';
import type { RegisteredKkm, TestServer } from './server.js';

export type Via = 'tcp' | 'http';
export const VIAS: Via[] = ['tcp', 'http'];

export const OK = ResultCode.RESULT_TYPE_OK;
/** The result code of an answer, and the code with its text for assertion messages. */
export const code = (a: Answer) => a.response.result.result_code;
export const text = (a: Answer) => `${code(a)} ${a.response.result.result_text ?? ''}`;

/** A device talking to the test server over a persistent TCP connection or HTTP POST /kkm. */
export function device(server: TestServer, kkm: RegisteredKkm, via: Via): KkmDevice {
  if (via === 'tcp') return server.tcpDevice(kkm);
  return new KkmDevice(kkm.kkmId, kkm.token, httpTransport(`http://127.0.0.1:${server.httpPort}`));
}

export interface FrameOverrides {
  token?: number;
  reqNum?: number;
  version?: number;
  deviceId?: number;
  /** Raw protobuf payload instead of the encoded request. */
  payload?: Uint8Array;
}

/** A request payload without the required-field checks (for deliberately incomplete requests). */
export const encodeLoose = (request: Record<string, unknown>): Uint8Array =>
  lenient.Request.encode(lenient.Request.fromObject(request)).finish();

/** Header, raw command code (field 1, whatever its value) and result of an answer frame. */
export function decodeLoose(bytes: Buffer): {
  header: ReturnType<typeof readHeader>;
  command: number | null;
  result: { result_code?: number; result_text?: string };
} {
  const payload = bytes.subarray(HEADER_SIZE);
  const command = peekCommand(payload);
  const decoded = lenient.Response.decode(payload) as unknown as {
    result?: { result_code?: number; result_text?: string };
  };
  return { header: readHeader(bytes), command, result: decoded.result ?? {} };
}

/** Sends a frame on the device's transport as is and returns the answer's bytes. */
export async function exchange(dev: KkmDevice, o: FrameOverrides & { payload: Uint8Array }) {
  const reqNum = o.reqNum ?? (dev.reqNum = (dev.reqNum + 1) & 0xffff);
  const frame = encodeFrame(
    {
      version: o.version ?? dev.version,
      deviceId: o.deviceId ?? dev.id,
      token: o.token ?? dev.token,
      reqNum,
    },
    o.payload,
  );
  return dev.transport(frame);
}

/**
 * Sends a hand-made frame on the device's transport. Without an explicit REQNUM it takes the
 * device's next one, like a real request. The device keeps its token whatever the answer says.
 */
export async function sendRaw(
  dev: KkmDevice,
  request: IRequest | null,
  o: FrameOverrides = {},
): Promise<Answer> {
  const payload = o.payload ?? Request.encode(request!).finish();
  return decodeAnswer(await exchange(dev, { ...o, payload }));
}

/** Writes bytes on a fresh TCP connection; resolves with what came back once the server closed it. */
export function tcpGarbage(port: number, bytes: Buffer, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    const socket = net.connect({ port, host: '127.0.0.1' }, () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server kept the connection open'));
    }, timeoutMs);
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received));
    });
  });
}

/** Minimal view of the `ws` client used here. */
interface WsClient {
  readonly readyState: number;
  on(event: 'message', cb: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'close', cb: (code: number, reason: Buffer) => void): void;
  once(event: 'open', cb: () => void): void;
  once(event: 'error', cb: (err: Error) => void): void;
  send(data: Buffer | string, opts?: { binary: boolean }): void;
  close(): void;
}

export interface WsLink {
  transport: Transport;
  /** Resolves with the close code once the server closed the socket. */
  closed: Promise<number>;
  socket: WsClient;
  close(): void;
}

/** One WebSocket connection to /kkm/ws carrying binary frames, answers in request order. */
export async function wsLink(httpPort: number): Promise<WsLink> {
  const socket = new WebSocket(`ws://127.0.0.1:${httpPort}/kkm/ws`) as WsClient;
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  socket.on('message', (data) => waiting.shift()?.resolve(Buffer.from(data)));
  const closed = new Promise<number>((resolve) =>
    socket.on('close', (code) => {
      for (const w of waiting.splice(0)) w.reject(new Error(`websocket closed (${code})`));
      resolve(code);
    }),
  );
  const transport: Transport = (frame) =>
    new Promise<Buffer>((resolve, reject) => {
      waiting.push({ resolve, reject });
      socket.send(frame, { binary: true });
    });
  return { transport, closed, socket, close: () => socket.close() };
}

export async function rows<T = Record<string, unknown>>(
  server: TestServer,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  return server.db.rows<T>(query, params);
}

/** Stored copies of a device's documents: with FINAL (logical rows) and without (physical). */
export async function storedCount(
  server: TestServer,
  kkmId: number,
  docType?: string,
): Promise<{ final: number; physical: number }> {
  const where = `kkm_id = {kkm:UInt32}${docType ? ' AND doc_type = {type:String}' : ''}`;
  const params = { kkm: kkmId, type: docType ?? '' };
  const [f] = await rows<{ n: string }>(
    server,
    `SELECT count() AS n FROM documents FINAL WHERE ${where}`,
    params,
  );
  const [p] = await rows<{ n: string }>(
    server,
    `SELECT count() AS n FROM documents WHERE ${where}`,
    params,
  );
  return { final: Number(f!.n), physical: Number(p!.n) };
}

export const tiyn = (m: IMoney | null | undefined): number => toTiyn(m) ?? Number.NaN;

/** An hour-exact device time `hours` from `base`. */
export const later = (base: Date, hours: number): Date => new Date(base.getTime() + hours * 3.6e6);

export interface ExpectedFigures {
  count: number[];
  sum: number[];
  payments: number[][];
  cash: number;
  deposits: number;
  withdrawals: number;
}

/** What a Z/X report must show for these receipts and placements (tiyn), computed independently. */
export function expectedFigures(
  tickets: ITicketRequest[],
  placements: { deposit: boolean; tiyn: number }[] = [],
): ExpectedFigures {
  const e: ExpectedFigures = {
    count: [0, 0, 0, 0],
    sum: [0, 0, 0, 0],
    payments: [0, 1, 2, 3].map(() => [0, 0, 0, 0, 0]),
    cash: 0,
    deposits: 0,
    withdrawals: 0,
  };
  for (const tk of tickets) {
    const op = tk.operation;
    e.count[op]! += 1;
    e.sum[op]! += tiyn(tk.amounts!.total);
    for (const p of tk.payments ?? []) e.payments[op]![p.type ?? 0]! += tiyn(p.sum);
    const cashIn = tk.amounts?.taken
      ? tiyn(tk.amounts.taken) - tiyn(tk.amounts.change)
      : (tk.payments ?? [])
          .filter((p) => p.type === PaymentType.PAYMENT_CASH)
          .reduce((a, p) => a + tiyn(p.sum), 0);
    const incoming = op === Operation.OPERATION_SELL || op === Operation.OPERATION_BUY_RETURN;
    e.cash += incoming ? cashIn : -cashIn;
  }
  for (const p of placements) {
    if (p.deposit) e.deposits += p.tiyn;
    else e.withdrawals += p.tiyn;
    e.cash += p.deposit ? p.tiyn : -p.tiyn;
  }
  return e;
}

/** The same figures read back from a report. */
export function reportFigures(r: IZXReport): ExpectedFigures {
  const op = (o: number) => r.ticket_operations?.find((x) => x.operation === o);
  const mp = (o: number) => r.money_placements?.find((x) => x.operation === o);
  return {
    count: [0, 1, 2, 3].map((o) => op(o)?.tickets_count ?? 0),
    sum: [0, 1, 2, 3].map((o) => tiyn(op(o)?.tickets_sum)),
    payments: [0, 1, 2, 3].map((o) =>
      [0, 1, 2, 3, 4].map((p) => tiyn(op(o)?.payments?.find((x) => x.payment === p)?.sum)),
    ),
    cash: tiyn(r.cash_sum),
    deposits: tiyn(mp(0)?.operations_sum),
    withdrawals: tiyn(mp(1)?.operations_sum),
  };
}

/** Replaces a method on one object for a while; the returned function puts the original back. */
export function patchMethod(target: object, name: string, replacement: unknown): () => void {
  const obj = target as Record<string, unknown>;
  const own = Object.hasOwn(obj, name);
  const original = obj[name];
  if (typeof original !== 'function') throw new Error(`${name} is not a method`);
  obj[name] = replacement;
  return () => {
    if (own) obj[name] = original;
    else delete obj[name];
  };
}
