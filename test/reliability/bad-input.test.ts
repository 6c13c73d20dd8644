// Malformed input over TCP, HTTP POST /kkm and WebSocket /kkm/ws (DESIGN §4: a clear answer,
// a log line and a metric — never a crash, never a half-written row), while two well-behaved
// registers (their own TCP connection, and HTTP) keep sending receipts: every one of theirs must
// be answered OK during the whole corpus.
//
// What each case gets, from the protocol document (section 2.4) and the codec:
// - Not a frame (wrong APPCODE, SIZE above the limit or below the header, bytes that never
//   complete a frame): TCP closes the connection without an answer, HTTP answers 400 (413 for a
//   body over the frame limit, 415 for another content type), WebSocket closes with 1007 (1009
//   for a message over the limit). Nothing can be addressed, so nothing is answered.
// - A frame whose payload is not a protobuf Request (garbage, truncated, nesting past the
//   decoder's recursion limit), or an unsupported protocol VERSION → 3 PROTOCOL_ERROR.
// - A field whose wire type does not match the schema is an unknown field (as protobuf's
//   reference parsers treat it), so the request is judged as if the field were absent: no
//   `command` → 3; no `ticket` in COMMAND_TICKET → 15 (section 2.4: a ticket missing a mandatory
//   parameter is BLOCKED); no `close_shift` → 3. The same goes for a value outside a closed
//   proto2 enum (operation 7 → the ticket lacks its operation → 15).
// - Unknown command → 4, COMMAND_RESERVED → 5, unknown device ID → 1.
// - Protobuf-valid but impossible data → 13 INCORRECT_REQUEST_DATA: money past 2^53 tiyn
//   (bills 2^63-1, 2^64-1) or coins ≥ 100, 31 February, 29 February 2027, hour 25, minute 60,
//   month 13, 100,000 items without a body.
// - Invalid UTF-8 in a string field: ACCEPTED. Protobuf decoding replaces each invalid
//   sequence with U+FFFD, the receipt is stored with the replacement characters and the raw
//   frame (kept for audit) holds the bytes as sent. Refusing it (13) would leave a register
//   with a misencoded product name unable to sell; the fiscal figures are unaffected.
// - 100,000 unknown fields (a newer protocol's, say) are skipped: the receipt is accepted.
// After the corpus the server is up, both registers were never refused, and each corpus device
// has stored exactly the receipts it was answered OK for.
import net from 'node:net';
import t from 'tap';
import { FrameDecoder } from '../../src/protocol/framer.js';
import { APP_CODE, encodeFrame, HEADER_SIZE, writeHeader } from '../../src/protocol/header.js';
import {
  Command,
  ItemType,
  Request,
  ResultCode,
  type IRequest,
  type ITicketRequest,
} from '../../src/protocol/schema.js';
import { as203, dateTime, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { V203 } from '../../src/protocol/versions.js';
import { httpTransport, KkmDevice, type Transport } from '../../src/sim/kkm-client.js';
import { decodeLoose, encodeLoose, rows, storedCount, wsLink } from '../helpers/kkm.js';
import { startTestServer, type RegisteredKkm } from '../helpers/server.js';

const server = await startTestServer();
t.teardown(() => server.stop());

const R = ResultCode;
const rnd = seededRandom(4242);
const base = `http://127.0.0.1:${server.httpPort}`;
/** Bad inputs sent, over all transports. */
let casesTried = 0;
const MAX_FRAME = server.config.maxFrameBytes;

// ---------------------------------------------------------------------------------------------
// Two well-behaved registers, sending receipts for as long as the corpus runs.

interface Background {
  acked: number;
  refused: { code: number | null; text: string }[];
  slowestMs: number;
}
let running = true;
async function wellBehaved(dev: KkmDevice, stats: Background): Promise<void> {
  while (running) {
    const started = performance.now();
    try {
      const a = await dev.send(requests.ticket(ticket(rnd, { items: 2 })));
      const code = a.response.result.result_code;
      if (code === R.RESULT_TYPE_OK) stats.acked++;
      else stats.refused.push({ code, text: a.response.result.result_text ?? '' });
    } catch (error) {
      stats.refused.push({ code: null, text: (error as Error).message });
    }
    stats.slowestMs = Math.max(stats.slowestMs, performance.now() - started);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const goodTcp: Background = { acked: 0, refused: [], slowestMs: 0 };
const goodHttp: Background = { acked: 0, refused: [], slowestMs: 0 };
const goodKkms = [await server.registerKkm(), await server.registerKkm()];
const background = Promise.all([
  wellBehaved(server.tcpDevice(goodKkms[0]!), goodTcp),
  wellBehaved(new KkmDevice(goodKkms[1]!.kkmId, goodKkms[1]!.token, httpTransport(base)), goodHttp),
]);

// ---------------------------------------------------------------------------------------------
// Raw connections.

/** One TCP connection of our own: frames out, answers in, and whether the server closed it. */
class RawTcp {
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private waiting: ((b: Buffer | null) => void) | null = null;
  closed = false;
  readonly ready: Promise<void>;

  constructor() {
    this.socket = net.connect({ port: server.tcp!.port, host: '127.0.0.1' });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk) =>
      this.decoder.push(
        chunk,
        (frame) => {
          const w = this.waiting;
          this.waiting = null;
          w?.(frame.bytes);
        },
        () => {},
      ),
    );
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      const w = this.waiting;
      this.waiting = null;
      w?.(null);
    });
  }

  /** Writes bytes; resolves with the next answer, or null once the server closed. */
  async send(bytes: Buffer, end = false): Promise<Buffer | null> {
    await this.ready;
    return new Promise((resolve) => {
      this.waiting = resolve;
      if (end) this.socket.end(bytes);
      else this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Bytes on a fresh TCP connection: what came back and whether the server closed it. */
async function tcpOnce(bytes: Buffer, opts: { end?: boolean } = {}) {
  casesTried++;
  const conn = new RawTcp();
  const timer = setTimeout(() => conn.close(), 5000);
  const answer = await conn.send(bytes, opts.end);
  clearTimeout(timer);
  // An answer may come before the close (a frame followed by bytes that are none).
  const closed =
    conn.closed || (await new Promise<boolean>((r) => setTimeout(() => r(conn.closed), 300)));
  conn.close();
  return { answer, closed };
}

async function httpPost(body: Buffer, contentType = 'application/octet-stream') {
  casesTried++;
  const res = await fetch(`${base}/kkm`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new Uint8Array(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** A binary (or text) WebSocket message on a fresh connection: the close code it earned. */
async function wsOnce(message: Buffer | string): Promise<number> {
  casesTried++;
  const link = await wsLink(server.httpPort);
  link.socket.send(message, { binary: typeof message !== 'string' });
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    link.closed,
    new Promise<number>((r) => (timer = setTimeout(() => r(-1), 5000))),
  ]);
  clearTimeout(timer);
  link.close();
  return code;
}

// ---------------------------------------------------------------------------------------------
// The corpus: frames that are not frames.

const ticketFrame = (kkm: RegisteredKkm) =>
  encodeFrame(
    { version: 202, deviceId: kkm.kkmId, token: kkm.token, reqNum: 1 },
    Request.encode(requests.ticket(ticket(rnd, { items: 2 }))).finish(),
  );

/** A header with chosen fields over a payload (SIZE as given, not computed). */
function headerOver(fields: { appCode?: number; size?: number }, payload: Buffer): Buffer {
  const frame = Buffer.alloc(HEADER_SIZE + payload.length);
  writeHeader(frame, {
    appCode: fields.appCode ?? APP_CODE,
    version: 202,
    size: fields.size ?? frame.length,
    deviceId: 1,
    token: 1,
    reqNum: 1,
  });
  payload.copy(frame, HEADER_SIZE);
  return frame;
}

const garbage = (n: number) => Buffer.from(Array.from({ length: n }, () => (rnd() * 256) | 0));

interface NotAFrame {
  name: string;
  bytes: () => Buffer;
  /** Bytes that wait for more: the TCP client ends its side (the server must then close). */
  incomplete?: boolean;
  http: number;
  ws: number;
}

const notFrames: NotAFrame[] = [
  {
    name: 'wrong APPCODE',
    bytes: () => headerOver({ appCode: 0x1234 }, Buffer.from([0x08, 0x00])),
    http: 400,
    ws: 1007,
  },
  {
    name: 'APPCODE byte-swapped (big-endian sender)',
    bytes: () => headerOver({ appCode: 0xa281 }, Buffer.from([0x08, 0x00])),
    http: 400,
    ws: 1007,
  },
  {
    name: 'SIZE 0xFFFFFFFF',
    bytes: () => headerOver({ size: 0xffffffff }, Buffer.from([0x08, 0x00])),
    http: 400,
    ws: 1007,
  },
  {
    name: 'SIZE one byte over the frame limit',
    bytes: () => headerOver({ size: MAX_FRAME + 1 }, Buffer.from([0x08, 0x00])),
    http: 400,
    ws: 1007,
  },
  {
    name: 'SIZE below the header size',
    bytes: () => headerOver({ size: 5 }, Buffer.from([0x08, 0x00])),
    http: 400,
    ws: 1007,
  },
  {
    name: '256 random bytes',
    bytes: () => Buffer.concat([Buffer.from([0x00, 0x00]), garbage(254)]),
    http: 400,
    ws: 1007,
  },
  {
    name: 'an HTTP request on the KKM port',
    bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    http: 400,
    ws: 1007,
  },
  {
    name: 'truncated header (10 of 18 bytes)',
    bytes: () => ticketFrame(goodKkms[0]!).subarray(0, 10),
    incomplete: true,
    http: 400,
    ws: 1007,
  },
  {
    name: 'truncated frame (SIZE says more than was sent)',
    bytes: () => {
      const f = ticketFrame(goodKkms[0]!);
      return f.subarray(0, f.length - 7);
    },
    incomplete: true,
    http: 400,
    ws: 1007,
  },
];

for (const c of notFrames) {
  t.test(`not a frame: ${c.name}`, async (t) => {
    const tcp = await tcpOnce(c.bytes(), { end: c.incomplete });
    t.equal(tcp.answer, null, 'tcp: no answer');
    t.ok(tcp.closed, 'tcp: the connection is closed');
    t.equal(await httpPost(c.bytes()), c.http, `http: ${c.http}`);
    t.equal(await wsOnce(c.bytes()), c.ws, `websocket: closed with ${c.ws}`);
  });
}

t.test('not a frame: sizes and types HTTP and WebSocket refuse', async (t) => {
  const oversized = headerOver({}, Buffer.alloc(MAX_FRAME + 10));
  t.equal(await httpPost(oversized), 413, 'http: a body over the frame limit → 413');
  t.equal(await wsOnce(oversized), 1009, 'websocket: a message over the limit → 1009');
  t.equal(await httpPost(Buffer.alloc(0)), 400, 'http: an empty body → 400');
  const frame = ticketFrame(goodKkms[0]!);
  t.equal(await httpPost(frame, 'text/plain'), 415, 'http: another content type → 415');
  t.equal(await httpPost(frame, 'application/x-kkm'), 415, 'http: an unknown one → 415');
  t.equal(await wsOnce('hello'), 1007, 'websocket: a text message → 1007');
  // SIZE shorter than what was sent: over TCP the rest is the start of the next frame.
  const short = Buffer.from(frame);
  short.writeUInt32LE(frame.length - 5, 4);
  t.equal(await httpPost(short), 400, 'http: SIZE below the body length → 400');
  t.equal(await wsOnce(short), 1007, 'websocket: the same → 1007');
  const tcp = await tcpOnce(short, { end: true });
  t.equal(
    tcp.answer && decodeLoose(tcp.answer).result.result_code,
    R.RESULT_TYPE_PROTOCOL_ERROR,
    'tcp: the cut frame is answered 3',
  );
  t.ok(tcp.closed, 'tcp: then closed, the leftover bytes being no frame');
});

// ---------------------------------------------------------------------------------------------
// The corpus: frames with a bad payload or header field, answered with a result code.

const BILLS_2_63_M1 = { low: 0xffffffff, high: 0x7fffffff, unsigned: true };
const BILLS_2_64_M1 = { low: 0xffffffff, high: 0xffffffff, unsigned: true };

const sale = (mutate?: (tk: ITicketRequest) => void): IRequest => {
  const tk = ticket(rnd, { items: 2 });
  mutate?.(tk);
  return requests.ticket(tk);
};
const encode = (r: IRequest) => Buffer.from(Request.encode(r).finish());
/** A 2.0.3 request (VERSION 203 cases): the 2.0.3 schema and the parts it requires. */
const encode203 = (r: IRequest) => Buffer.from(V203.Request.encode(as203(r)).finish());
const sale203 = (mutate: (tk: ITicketRequest) => void) => encode203(sale(mutate));
/** A ticket with a changed device date or time. */
const dated = (date: Partial<{ year: number; month: number; day: number }>, time = {}) =>
  encode(
    sale((tk) => {
      const dt = tk.date_time!;
      tk.date_time = { date: { ...dt.date!, ...date }, time: { ...dt.time!, ...time } };
    }),
  );
const repeated = (n: number, bytes: number[]) => {
  const out = Buffer.alloc(n * bytes.length);
  for (let i = 0; i < n; i++) out.set(bytes, i * bytes.length);
  return out;
};

interface CodeCase {
  name: string;
  payload: () => Buffer;
  want: number;
  version?: number;
  deviceId?: number;
}

const INVALID_UTF8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xc0]);

const codeCases: CodeCase[] = [
  ...[199, 204, 0, 0xffff].map((version) => ({
    name: `VERSION ${version}`,
    payload: () => encode(requests.info()),
    version,
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  })),
  { name: 'empty payload', payload: () => Buffer.alloc(0), want: R.RESULT_TYPE_PROTOCOL_ERROR },
  {
    name: '64 random bytes of payload',
    payload: () => Buffer.concat([Buffer.from([0xff, 0xff]), garbage(62)]),
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  },
  {
    name: 'truncated protobuf (a ticket cut in half)',
    payload: () => {
      const p = encode(sale());
      return p.subarray(0, p.length >> 1);
    },
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  },
  {
    name: 'length prefix past the end',
    payload: () => Buffer.from([0x08, 0x01, 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  },
  {
    name: 'wire type 7 (does not exist)',
    payload: () => Buffer.from([0x0f, 0x01]),
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  },
  {
    name: 'wrong wire type: command as length-delimited',
    payload: () => Buffer.from([0x0a, 0x01, 0x01]),
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  },
  {
    name: 'wrong wire type: ticket as a varint',
    payload: () => Buffer.from([0x08, Command.COMMAND_TICKET, 0x10, 0x05]),
    want: R.RESULT_TYPE_BLOCKED,
  },
  {
    name: 'wrong wire type: close_shift as fixed32',
    payload: () => Buffer.from([0x08, Command.COMMAND_CLOSE_SHIFT, 0x1d, 1, 2, 3, 4]),
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  },
  {
    name: 'wrong wire type inside the ticket: amounts.total as a varint',
    payload: () => {
      // Request = command, then ticket (field 2): take the ticket's bytes, append amounts
      // (field 8) = { total (field 1) as the varint 5 }: the ticket then lacks its total.
      const p = Buffer.from(
        encodeLoose({
          command: Command.COMMAND_TICKET,
          ticket: { ...sale().ticket, amounts: undefined },
        }),
      );
      let pos = 3;
      while (p[pos]! & 0x80) pos++;
      const body = Buffer.concat([p.subarray(pos + 1), Buffer.from([0x42, 0x02, 0x08, 0x05])]);
      return Buffer.concat([
        Buffer.from([0x08, Command.COMMAND_TICKET, 0x12]),
        varint(body.length),
        body,
      ]);
    },
    want: R.RESULT_TYPE_BLOCKED,
  },
  {
    name: 'operation 7 (outside the closed enum)',
    payload: () =>
      Buffer.from(encodeLoose({ ...sale(), ticket: { ...sale().ticket, operation: 7 } })),
    want: R.RESULT_TYPE_BLOCKED,
  },
  {
    name: 'unknown command 42',
    payload: () => Buffer.from([0x08, 42]),
    want: R.RESULT_TYPE_UNKNOWN_COMMAND,
  },
  {
    name: 'COMMAND_RESERVED',
    payload: () => encode({ command: Command.COMMAND_RESERVED }),
    want: R.RESULT_TYPE_UNSUPPORTED_COMMAND,
  },
  {
    name: 'unknown device ID',
    payload: () => encode(requests.info()),
    deviceId: 0xfffffff0,
    want: R.RESULT_TYPE_UNKNOWN_ID,
  },
  {
    name: 'nesting 1,000,000 groups deep (recursion)',
    payload: () => Buffer.concat([encode(requests.system()), Buffer.alloc(MAX_FRAME - 64, 0x0b)]),
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  },
  {
    name: 'nesting 1,000 length-delimited levels of an unknown field',
    payload: () => {
      let inner = Buffer.from([0x08, 0x01]);
      for (let i = 0; i < 1000; i++) {
        inner = Buffer.concat([Buffer.from([0x7a]), varint(inner.length), inner]);
      }
      return Buffer.concat([encode(requests.system()), inner]);
    },
    want: R.RESULT_TYPE_OK,
  },
  {
    name: '100,000 items without a body',
    payload: () =>
      encode(
        sale((tk) => {
          tk.items = Array.from({ length: 100_000 }, () => ({
            type: ItemType.ITEM_TYPE_COMMODITY,
          }));
        }),
      ),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: '100,000 unknown fields after a valid ticket',
    payload: () => Buffer.concat([encode(sale()), repeated(100_000, [0xf8, 0x07, 0x01])]),
    want: R.RESULT_TYPE_OK,
  },
  {
    name: 'invalid UTF-8 in an item name (accepted, U+FFFD stored)',
    payload: () => {
      const marker = 'ZZZZZZZZ';
      const p = encode(
        sale((tk) => {
          tk.items![0]!.commodity!.name = marker;
        }),
      );
      const at = p.indexOf(marker);
      INVALID_UTF8.copy(p, at);
      return p;
    },
    want: R.RESULT_TYPE_OK,
  },
  {
    name: 'total bills 2^63-1',
    payload: () =>
      encode(
        sale((tk) => {
          tk.amounts!.total = { bills: BILLS_2_63_M1 as never, coins: 0 };
        }),
      ),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'item price bills 2^64-1',
    payload: () =>
      encode(
        sale((tk) => {
          tk.items![0]!.commodity!.price = { bills: BILLS_2_64_M1 as never, coins: 0 };
        }),
      ),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'total coins 100',
    payload: () =>
      encode(
        sale((tk) => {
          tk.amounts!.total = { bills: 1, coins: 100 };
        }),
      ),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'payment coins 2^32-1',
    payload: () =>
      encode(
        sale((tk) => {
          tk.payments![0]!.sum = { bills: 1, coins: 0xffffffff };
        }),
      ),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'money placement coins 150',
    payload: () => {
      const r = requests.moneyPlacement(true, 100, new Date());
      r.money_placement!.sum = { bills: 1, coins: 150 };
      return encode(r);
    },
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: '31 February',
    payload: () => dated({ year: 2026, month: 2, day: 31 }),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: '29 February 2027 (not a leap year)',
    payload: () => dated({ year: 2027, month: 2, day: 29 }),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'month 13',
    payload: () => dated({ month: 13 }),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'day 0',
    payload: () => dated({ day: 0 }),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'hour 25',
    payload: () => dated({}, { hour: 25 }),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'minute 60',
    payload: () => dated({}, { minute: 60 }),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'money placement at hour 24',
    payload: () => {
      const r = requests.moneyPlacement(true, 100, new Date());
      r.money_placement!.datetime!.time!.hour = 24;
      return encode(r);
    },
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: 'close shift at 30 April 24:00',
    payload: () =>
      encode(
        requests.closeShift(
          {
            date_time: dateTime(new Date()),
            shift_number: 1,
            cash_sum: { bills: 0, coins: 0 },
            revenue: { sum: { bills: 0, coins: 0 }, is_negative: false },
          },
          new Date(),
          {
            close_time: { date: { year: 2026, month: 4, day: 30 }, time: { hour: 24, minute: 0 } },
          },
        ),
      ),
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  // Protocol 2.0.3 frames (VERSION 203).
  {
    name: '2.0.3: a good receipt',
    payload: () => sale203(() => {}),
    version: 203,
    want: R.RESULT_TYPE_OK,
  },
  {
    name: '2.0.3: a 2.0.2 receipt (no domain, no reg_info) at VERSION 203',
    payload: () => encode(sale()),
    version: 203,
    want: R.RESULT_TYPE_BLOCKED,
  },
  {
    name: '2.0.3: truncated receipt',
    payload: () => {
      const p = sale203(() => {});
      return p.subarray(0, p.length >> 1);
    },
    version: 203,
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  },
  {
    name: '2.0.3: parent ticket without its required fields',
    payload: () =>
      Buffer.from(
        V203.lenient.Request.encode(
          V203.lenient.Request.fromObject(
            as203(sale((tk) => Object.assign(tk, { operation: 3, parent_ticket: {} }))),
          ),
        ).finish(),
      ),
    version: 203,
    want: R.RESULT_TYPE_PROTOCOL_ERROR,
  },
  {
    name: '2.0.3: quantity 2^64-1 (64-bit, past 2^53)',
    payload: () =>
      sale203((tk) => {
        tk.items![0]!.commodity!.quantity = BILLS_2_64_M1 as never;
      }),
    version: 203,
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: '2.0.3: card RRN 2^64-1',
    payload: () =>
      sale203((tk) => {
        tk.payments![0]!.card_payment_fields = { pos_rrn: BILLS_2_64_M1 as never };
      }),
    version: 203,
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: '2.0.3: parent ticket total coins 100',
    payload: () =>
      sale203((tk) => {
        tk.operation = 3;
        tk.parent_ticket = {
          parent_ticket_number: '1',
          parent_ticket_data_time: tk.date_time!,
          kgd_kkm_id: 'X',
          parent_ticket_total: { bills: 1, coins: 100 },
          parent_ticket_is_offline: true,
        };
      }),
    version: 203,
    want: R.RESULT_TYPE_INCORRECT_REQUEST_DATA,
  },
  {
    name: '2.0.3: barcode of 100,000 bytes (not found, code 18)',
    payload: () =>
      Buffer.from(
        V203.Request.encode({
          command: 4,
          nomenclature: { barcode: 'x'.repeat(100_000) },
        }).finish(),
      ),
    version: 203,
    want: R.RESULT_TYPE_ELEMENT_NOT_FOUND_BY_BARCODE,
  },
  {
    // 2.0.2 has tenantId (int32) at field 6: the string is skipped for its wire type.
    name: '2.0.3 payload (org address_kz at field 6) sent as VERSION 202: read as 2.0.2',
    payload: () =>
      Buffer.from(
        V203.Request.encode({
          command: 0,
          service: { reg_info: { org: { address_kz: 'Алматы қ., Төле би, 101' } } },
        }).finish(),
      ),
    want: R.RESULT_TYPE_OK,
  },
];

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** Fresh persistent connections per transport, each with its own corpus register. */
async function transports(): Promise<[string, Transport, () => boolean, () => void][]> {
  const tcp = new RawTcp();
  const ws = await wsLink(server.httpPort);
  let wsClosed = false;
  void ws.closed.then(() => (wsClosed = true));
  return [
    [
      'tcp',
      async (frame) => {
        const answer = await tcp.send(frame);
        if (!answer) throw new Error('the server closed the connection');
        return answer;
      },
      () => tcp.closed,
      () => tcp.close(),
    ],
    ['http', httpTransport(base), () => false, () => {}],
    ['ws', ws.transport, () => wsClosed, () => ws.close()],
  ];
}

const corpusKkms: number[] = [];
const corpusAcked = new Map<number, number>();

for (const [via, transport, isClosed, close] of await transports()) {
  t.test(`${via}: bad payloads and header fields get their result code`, async (t) => {
    t.teardown(close);
    const kkm = await server.registerKkm();
    corpusKkms.push(kkm.kkmId);
    corpusAcked.set(kkm.kkmId, 0);
    let token = kkm.token;
    let reqNum = 0;
    for (const c of codeCases) {
      reqNum++;
      const frame = encodeFrame(
        { version: c.version ?? 202, deviceId: c.deviceId ?? kkm.kkmId, token, reqNum },
        c.payload(),
      );
      const started = performance.now();
      const answer = decodeLoose(await transport(frame));
      const ms = Math.round(performance.now() - started);
      casesTried++;
      const text = answer.result.result_text ?? '';
      t.equal(answer.result.result_code, c.want, `${c.name} → ${c.want} (${ms} ms) ${text}`);
      t.equal(answer.header.reqNum, reqNum, 'addressed to its REQNUM');
      t.notOk(isClosed(), 'the connection stays open');
      if (answer.result.result_code === R.RESULT_TYPE_OK) {
        token = answer.header.token;
        if (answer.command === Command.COMMAND_TICKET) {
          corpusAcked.set(kkm.kkmId, corpusAcked.get(kkm.kkmId)! + 1);
        }
      }
    }
    // The same connection still serves the register.
    const dev = new KkmDevice(kkm.kkmId, token, transport);
    dev.reqNum = reqNum;
    const after = await dev.send(requests.ticket(ticket(rnd, { items: 1 })));
    t.equal(after.response.result.result_code, R.RESULT_TYPE_OK, 'a good receipt afterwards: OK');
    corpusAcked.set(kkm.kkmId, corpusAcked.get(kkm.kkmId)! + 1);
  });
}

t.test('invalid UTF-8 is stored with replacement characters, the raw bytes kept', async (t) => {
  for (const kkmId of corpusKkms) {
    const [row] = await rows<{ names: string[]; raw: string }>(
      server,
      `SELECT items.name AS names, raw_request AS raw FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND has(items.name, {name:String})`,
      { kkm: kkmId, name: INVALID_UTF8.toString('utf8') },
    );
    t.ok(row, `kkm ${kkmId}: the receipt is stored`);
    if (!row) continue;
    t.ok(row.names[0]!.includes('\ufffd'), `with the name ${JSON.stringify(row.names[0])}`);
    t.ok(
      Buffer.from(row.raw, 'base64').includes(INVALID_UTF8),
      'and the raw request holds the bytes as sent',
    );
  }
});

t.test(
  'afterwards: the server is up, good registers unaffected, nothing half-written',
  async (t) => {
    running = false;
    await background;
    t.comment(`${casesTried} bad inputs tried`);
    const health = await fetch(`${base}/healthz`);
    t.equal(health.status, 200, '/healthz answers');
    for (const [via, s] of [
      ['tcp', goodTcp],
      ['http', goodHttp],
    ] as const) {
      t.ok(s.acked > 10, `${via}: ${s.acked} receipts answered OK during the corpus`);
      t.same(s.refused, [], `${via}: none refused or lost (slowest ${Math.round(s.slowestMs)} ms)`);
    }
    for (const k of goodKkms) {
      const stored = await storedCount(server, k.kkmId, 'ticket');
      const s = k === goodKkms[0] ? goodTcp : goodHttp;
      t.same(
        stored,
        { final: s.acked, physical: s.acked },
        `kkm ${k.kkmId}: stored = acknowledged`,
      );
    }
    for (const kkmId of corpusKkms) {
      const stored = await storedCount(server, kkmId);
      const acked = corpusAcked.get(kkmId)!;
      t.same(stored, { final: acked, physical: acked }, `corpus kkm ${kkmId}: only what was OK`);
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const code of ['BAD_APPCODE', 'SIZE_TOO_LARGE', 'SIZE_TOO_SMALL']) {
      t.match(
        metrics,
        new RegExp(`ofd_ingest_frame_errors_total\\{code="${code}"\\} [1-9]`),
        `metric: frame errors ${code}`,
      );
    }
    t.match(metrics, /ofd_ingest_answers_total\{command="system",result="3"\} [1-9]/, 'metric: 3s');
  },
);
