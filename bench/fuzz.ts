// Fuzzing the ingest path with mutated frames (`npm run bench:fuzz`).
//
//   FUZZ_FRAMES=1000000 FUZZ_SEED=1 FUZZ_FULL_EVERY=50 npm run bench:fuzz
//
// Seeds are valid request frames of every command (receipts of all kinds, close shift with a
// device Z report, money placements, X/Z reports, INFO, SYSTEM, NOMENCLATURE, AUTH, cancel), in
// 2.0.2 and in 2.0.3 form, plus the protocol fixtures of both versions; half the frames carry
// VERSION 202, half 203. Each fuzzed frame applies one to three mutations: protobuf-aware
// ones (a field spliced in from another valid request at any depth, a field replaced, duplicated,
// dropped or renumbered, a varint set to a boundary value, a length prefix lied about) and
// byte-level ones over the whole frame (bit flips, byte insertions and deletions, truncation,
// header fields set to boundary or random values), with SIZE fixed up or left wrong.
//
// Where the frames go:
// - Every frame: the TCP framer (FrameDecoder, the bytes split into random chunks, the way a
//   socket delivers them), the HTTP/WebSocket one (parseFrame), decodeRequest with its
//   per-command checks, and the answer encoding — the part of the server that sees raw bytes.
// - Every FUZZ_FULL_EVERY-th frame that is a frame: the full CommandCore of a real in-process
//   server (Redis claim, retry/token gate, command rules, group commit into embedded
//   ClickHouse), from 16 registered devices whose ID, token and REQNUM most of these frames
//   carry, so mutated payloads reach the command rules and the store.
// A crash is any exception thrown out of the framer, the codec or CommandCore.handle (which
// must never throw), any uncaught exception or unhandled rejection in the process, and any
// error the server logs (a command rule throwing, a failed group commit: both answered 254).
// The run ends with the result-code distribution, the slowest frame (time and a hex prefix), and
// a check that every receipt the devices were answered OK for is stored exactly once.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../src/config/config.js';
import { decodeRequest, encodeResponse, resultResponse } from '../src/protocol/codec.js';
import { FrameDecoder, FrameError, parseFrame, type Frame } from '../src/protocol/framer.js';
import { APP_CODE, encodeFrame, HEADER_SIZE, writeHeader } from '../src/protocol/header.js';
import { fromTiyn } from '../src/fiscal/money.js';
import { V203 } from '../src/protocol/versions.js';
import {
  Command,
  MoneyPlacementType,
  Operation,
  PaymentType,
  ReportType,
  Request,
  Response,
  type IRequest,
  type IZXReport,
} from '../src/protocol/schema.js';
import {
  as203,
  dateTime,
  emptyReport,
  requests,
  seededRandom,
  ticket,
  type Random,
} from '../src/sim/documents.js';
import { startServer } from '../src/app/server.js';
import { registerDevices, type RegisteredDevice } from '../test/harness/index.js';
import { deleteKeys } from '../test/harness/redis-keys.js';

const FRAMES = positiveInt('FUZZ_FRAMES', 1_000_000);
const SEED = positiveInt('FUZZ_SEED', 1);
const FULL_EVERY = positiveInt('FUZZ_FULL_EVERY', 50);
const FULL_DEVICES = 16;
const MAX_FRAME = 1024 * 1024;

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${name}=${raw}: expected a positive integer`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Crashes.

interface Crash {
  where: string;
  message: string;
  hex: string;
}
const crashes: Crash[] = [];
const crash = (where: string, error: unknown, bytes?: Uint8Array) => {
  if (crashes.length < 1000) {
    crashes.push({
      where,
      message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      hex: bytes ? Buffer.from(bytes.subarray(0, 48)).toString('hex') : '',
    });
  } else crashes.length++;
};
process.on('uncaughtException', (e) => crash('process: uncaught exception', e));
process.on('unhandledRejection', (e) => crash('process: unhandled rejection', e));

// ---------------------------------------------------------------------------------------------
// Seeds: valid payloads of every command.

const VERSIONS = [202, 203];

function seedPayloads(random: Random): Uint8Array[] {
  const at = new Date(Date.UTC(2026, 10, 22, 10, 0, 0));
  const out: IRequest[] = [];
  for (let i = 0; i < 12; i++) {
    out.push(
      requests.ticket(
        ticket(random, {
          items: 1 + (i % 6) * 3,
          operation: i % 4,
          payments: [
            [PaymentType.PAYMENT_CASH],
            [PaymentType.PAYMENT_CARD],
            [PaymentType.PAYMENT_CASH, PaymentType.PAYMENT_MOBILE],
          ][i % 3],
          at,
          offlineNumber: i % 5 === 4 ? 100 + i : undefined,
          customerIin: i % 4 === 3 ? '900101300123' : undefined,
          shiftNumber: i % 2 ? 1 : undefined,
          printedNumber: i % 3 ? i + 1 : undefined,
        }),
      ),
    );
  }
  const z: IZXReport = emptyReport(1, at);
  z.ticket_operations = [Operation.OPERATION_SELL, Operation.OPERATION_SELL_RETURN].map(
    (operation) => ({
      operation,
      tickets_total_count: 3,
      tickets_count: 3,
      tickets_sum: fromTiyn(123_456),
      payments: [{ payment: PaymentType.PAYMENT_CASH, sum: fromTiyn(123_456), count: 3 }],
    }),
  );
  z.money_placements = [0, 1].map((operation) => ({
    operation,
    operations_total_count: 1,
    operations_count: 1,
    operations_sum: fromTiyn(10_000),
  }));
  out.push(
    requests.closeShift(z, at, { fr_shift_number: 1, printed_document_number: 9 }),
    requests.closeShift(emptyReport(2, at), at, { is_offline: true }),
    requests.moneyPlacement(true, 1_000_050, at),
    requests.moneyPlacement(false, 500, at, true),
    requests.report(ReportType.REPORT_X, z, at),
    requests.report(ReportType.REPORT_Z, emptyReport(1, at), at),
    requests.info(),
    requests.system(),
    requests.nomenclature(3),
    requests.auth('cashier', 'Secret-pass1!'),
    requests.cancelTicket(),
    {
      command: Command.COMMAND_MONEY_PLACEMENT,
      money_placement: {
        datetime: dateTime(at),
        operation: MoneyPlacementType.MONEY_PLACEMENT_DEPOSIT,
        sum: { bills: 5, coins: 99 },
        operator: { code: 2, name: 'Kassir' },
      },
    },
  );
  // 2.0.3 seeds too: the same requests as a 2.0.3 register sends them, through the 2.0.3 schema.
  const payloads: Uint8Array[] = [
    ...out.map((r) => Request.encode(r).finish()),
    ...out.map((r) => V203.Request.encode(as203(r)).finish()),
  ];
  for (const dir of ['../test/fixtures/protocol/', '../test/fixtures/protocol/v203/']) {
    const fixtures = new URL(dir, import.meta.url);
    for (const name of readdirSync(fixtures)) {
      if (name.endsWith('.request.bin')) payloads.push(readFileSync(new URL(name, fixtures)));
    }
  }
  return payloads;
}

// ---------------------------------------------------------------------------------------------
// Protobuf-aware mutations.

interface Field {
  field: number;
  wire: number;
  /** The whole field: tag and value. */
  raw: Buffer;
  /** Length-delimited content (wire type 2). */
  content?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [number, number] | null {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) return null;
    const b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    mul *= 128;
    if (!(b & 0x80)) return [value, pos];
  }
  return null;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Top-level fields of a message, or null when it does not parse as one. */
function fields(buf: Buffer): Field[] | null {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const tag = readVarint(buf, pos);
    if (!tag) return null;
    pos = tag[1];
    const wire = tag[0] % 8;
    const field = Math.floor(tag[0] / 8);
    let content: Buffer | undefined;
    if (wire === 0) {
      const v = readVarint(buf, pos);
      if (!v) return null;
      pos = v[1];
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = readVarint(buf, pos);
      if (!len) return null;
      pos = len[1];
      content = buf.subarray(pos, pos + len[0]);
      pos += len[0];
    } else return null;
    if (pos > buf.length) return null;
    out.push({ field, wire, raw: buf.subarray(start, pos), content });
  }
  return out;
}

const tagOf = (field: number, wire: number) => varint(field * 8 + wire);
const lengthDelimited = (field: number, content: Buffer) =>
  Buffer.concat([tagOf(field, 2), varint(content.length), content]);

const INTERESTING = [
  0,
  1,
  2,
  7,
  99,
  100,
  127,
  128,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64 - 2 ** 11,
];

class Mutator {
  constructor(
    private readonly random: Random,
    private readonly seeds: Buffer[],
  ) {}

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(list: T[]): T {
    return list[this.int(list.length)]!;
  }

  /** A random length-delimited field's content anywhere in a seed (a message, mostly). */
  private donor(): Field {
    let msg = this.pick(this.seeds);
    for (let depth = 0; ; depth++) {
      const fs = fields(msg);
      if (!fs || fs.length === 0) return { field: 1, wire: 0, raw: Buffer.from([0x08, 0x01]) };
      const f = this.pick(fs);
      if (!f.content || f.content.length === 0 || depth > 4 || this.random() < 0.4) return f;
      msg = f.content;
    }
  }

  /** One protobuf-aware change somewhere in the message (null: it does not parse). */
  mutateMessage(msg: Buffer, depth = 0): Buffer | null {
    const fs = fields(msg);
    if (!fs) return null;
    const nested = fs.filter((f) => f.content && f.content.length > 0);
    if (nested.length && depth < 6 && this.random() < 0.55) {
      const f = this.pick(nested);
      const inner = this.mutateMessage(f.content!, depth + 1);
      if (inner) {
        return Buffer.concat(fs.map((x) => (x === f ? lengthDelimited(f.field, inner) : x.raw)));
      }
    }
    const parts = fs.map((f) => f.raw);
    const at = this.int(parts.length + 1);
    switch (this.int(8)) {
      case 0: // splice a field from another valid request
        parts.splice(at, 0, this.donor().raw);
        break;
      case 1: // replace a field by a donor's
        if (parts.length) parts[this.int(parts.length)] = this.donor().raw;
        break;
      case 2: // duplicate a field
        if (parts.length) parts.splice(at, 0, this.pick(parts));
        break;
      case 3: // drop a field
        if (parts.length) parts.splice(this.int(parts.length), 1);
        break;
      case 4: {
        // renumber a field (same wire type: a wrong type for the schema, often)
        if (!fs.length) break;
        const i = this.int(fs.length);
        const f = fs[i]!;
        const tagLength = tagOf(f.field, f.wire).length;
        parts[i] = Buffer.concat([tagOf(1 + this.int(20), f.wire), f.raw.subarray(tagLength)]);
        break;
      }
      case 5: {
        // a varint field set to a boundary value
        const ints = fs.map((f, i) => [f, i] as const).filter(([f]) => f.wire === 0);
        if (!ints.length) break;
        const [f, i] = this.pick(ints);
        parts[i] = Buffer.concat([tagOf(f.field, 0), varint(this.pick(INTERESTING))]);
        break;
      }
      case 6: {
        // a length prefix that lies
        const delimited = fs.map((f, i) => [f, i] as const).filter(([f]) => f.wire === 2);
        if (!delimited.length) break;
        const [f, i] = this.pick(delimited);
        const claimed = this.pick([0, f.content!.length + 1, f.content!.length * 2, 2 ** 31]);
        parts[i] = Buffer.concat([tagOf(f.field, 2), varint(claimed), f.content!]);
        break;
      }
      default: {
        // a field with another wire type
        if (!fs.length) break;
        const i = this.int(fs.length);
        const f = fs[i]!;
        const wire = this.pick([0, 1, 2, 5].filter((w) => w !== f.wire));
        const body =
          wire === 0
            ? varint(this.pick(INTERESTING))
            : wire === 1
              ? randomBytesFrom(this.random, 8)
              : wire === 5
                ? randomBytesFrom(this.random, 4)
                : Buffer.concat([varint(3), randomBytesFrom(this.random, 3)]);
        parts[i] = Buffer.concat([tagOf(f.field, wire), body]);
      }
    }
    return Buffer.concat(parts);
  }

  /** Byte-level changes over the whole frame. */
  mutateBytes(frame: Buffer): Buffer {
    let out = frame;
    const fixSize = this.random() < 0.6;
    switch (this.int(6)) {
      case 0: {
        out = Buffer.from(out);
        for (let n = 1 + this.int(8); n > 0 && out.length; n--) {
          const i = this.int(out.length);
          out[i]! ^= 1 << this.int(8);
        }
        break;
      }
      case 1: {
        const at = HEADER_SIZE + this.int(Math.max(1, out.length - HEADER_SIZE + 1));
        out = Buffer.concat([
          out.subarray(0, at),
          randomBytesFrom(this.random, 1 + this.int(16)),
          out.subarray(at),
        ]);
        break;
      }
      case 2: {
        const at = this.int(out.length);
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + this.int(16))]);
        break;
      }
      case 3:
        out = out.subarray(0, this.int(out.length));
        break;
      case 4: {
        out = Buffer.from(out);
        const u32 = [0, 1, 17, 18, 19, 0xffff, MAX_FRAME, MAX_FRAME + 1, 2 ** 31, 2 ** 32 - 1];
        const which = this.int(6);
        if (out.length < HEADER_SIZE) break;
        if (which === 0) out.writeUInt16LE(this.pick([0, 0xa281, 0x81a3, this.int(65536)]), 0);
        if (which === 1) out.writeUInt16LE(this.pick([0, 199, 200, 203, 204, 0xffff]), 2);
        if (which === 2) out.writeUInt32LE(this.pick(u32) >>> 0, 4);
        if (which === 3) out.writeUInt32LE(this.pick(u32) >>> 0, 8);
        if (which === 4) out.writeUInt32LE(this.pick(u32) >>> 0, 12);
        if (which === 5) out.writeUInt16LE(this.pick([0, 1, 0xffff, this.int(65536)]), 16);
        return out;
      }
      default:
        return out; // payload-level mutations only
    }
    if (fixSize && out.length >= HEADER_SIZE) {
      out = Buffer.from(out);
      out.writeUInt32LE(out.length, 4);
    }
    return out;
  }
}

function randomBytesFrom(random: Random, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 256) | 0;
  return out;
}

/** Command and result code of an answer, read field by field (the command may be outside the
 * enum: an unknown command is echoed). */
function decodeLoose(answer: Buffer): { command: number; code: number } {
  const value = (f: Field | undefined): number => {
    if (!f || f.wire !== 0) return -1;
    const tag = readVarint(f.raw, 0)!;
    return readVarint(f.raw, tag[1])?.[0] ?? -1;
  };
  const top = fields(answer.subarray(HEADER_SIZE)) ?? [];
  const result = top.find((f) => f.field === 2 && f.content)?.content;
  return {
    command: value(top.find((f) => f.field === 1)),
    code: value(result ? fields(result)?.find((f) => f.field === 1) : undefined),
  };
}

// ---------------------------------------------------------------------------------------------
// The bulk: framer + codec.

const outcomes = new Map<string, number>();
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
let slowest: { ms: number; size: number; hex: string; bytes: Buffer } = {
  ms: 0,
  size: 0,
  hex: '',
  bytes: Buffer.alloc(0),
};
/** Frames before this many are not timed (the JIT compiles the decoders on the first ones). */
const WARMUP_FRAMES = 5_000;
let framesSeen = 0;

/** Framer (streamed and whole), codec and answer encoding; returns the frames it found. */
function framerAndCodec(bytes: Buffer, random: Random): Frame[] {
  const found: Frame[] = [];
  const started = performance.now();
  try {
    const decoder = new FrameDecoder(MAX_FRAME);
    let closed: FrameError | null = null;
    let pos = 0;
    while (pos < bytes.length && !closed) {
      const n = 1 + Math.floor(random() * Math.max(1, bytes.length - pos));
      decoder.push(
        bytes.subarray(pos, pos + n),
        (frame) => found.push(frame),
        (error) => (closed = error),
      );
      pos += n;
    }
    const whole = parseFrame(bytes, MAX_FRAME);
    for (const frame of found) {
      const decoded = decodeRequest(frame);
      const code = decoded.ok ? 0 : decoded.code;
      const command = decoded.ok ? decoded.request.command : decoded.command;
      // The answer a refusal gets (an accepted request's answer comes from the command core).
      const answer = encodeResponse(
        frame.header,
        frame.header.token,
        resultResponse(command, code),
      );
      if (answer.readUInt32LE(4) !== answer.length) throw new Error('answer SIZE is wrong');
      count(decoded.ok ? `decoded (command ${command})` : `answered ${code}`);
    }
    if (closed) count(`tcp closed: ${(closed as FrameError).code}`);
    else if (found.length === 0) count('tcp waits for more bytes');
    if (whole instanceof FrameError) count(`http 400: ${whole.code}`);
  } catch (error) {
    crash('framer/codec threw', error, bytes);
  }
  const ms = performance.now() - started;
  if (++framesSeen > WARMUP_FRAMES && ms > slowest.ms) {
    slowest = { ms, size: bytes.length, hex: bytes.subarray(0, 40).toString('hex'), bytes };
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// The full command core, on a real in-process server.

interface FullDevice extends RegisteredDevice {
  reqNum: number;
  acked: Set<string>;
}

async function main(): Promise<void> {
  const random = seededRandom(SEED);
  const seeds = seedPayloads(random).map((p) => Buffer.from(p));
  const mutator = new Mutator(random, seeds);
  const dataDir = mkdtempSync(join(tmpdir(), 'ofd-fuzz-'));
  const prefix = `ofdfuzz:${randomBytes(4).toString('hex')}:`;
  const logged: string[] = [];
  let loggedErrors = 0;
  const log = pino(
    { level: 'error' },
    {
      write(line: string) {
        loggedErrors++;
        if (logged.length < 20) logged.push(line.slice(0, 600));
      },
    },
  );
  const config = loadConfig(
    {
      DATA_DIR: dataDir,
      OFD_TCP_PORT: '0',
      OFD_HTTP_PORT: '0',
      OFD_HOST: '127.0.0.1',
      OFD_REDIS_PREFIX: prefix,
      OFD_ADMIN_TOKEN: `fuzz-admin-${randomBytes(8).toString('hex')}`,
      OFD_ROLES: 'ingest,api',
      OFD_DEVICE_LEASE_MS: '300',
      OFD_DEVICE_RATE: '0',
      OFD_ADDRESS_RATE: '0',
      LOG_LEVEL: 'error',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    },
    [],
  );
  const server = await startServer(config, log);
  const cleanup = async () => {
    await deleteKeys(server.redis, prefix);
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const admin = { httpPort: server.httpPort, adminToken: config.adminToken! };
    const devices: FullDevice[] = (await registerDevices(admin, FULL_DEVICES)).map((d) => ({
      ...d,
      reqNum: 0,
      acked: new Set(),
    }));
    const fullCodes = new Map<string, number>();
    let fullFrames = 0;
    let fullSlowest = { ms: 0, size: 0, hex: '', answer: '' };
    const queues: Frame[][] = devices.map(() => []);
    let producing = true;
    let wake: (() => void)[] = [];

    /** One device's frames through CommandCore.handle, one at a time (as one register). */
    const consume = async (i: number) => {
      const d = devices[i]!;
      for (;;) {
        const frame = queues[i]!.shift();
        if (!frame) {
          if (!producing) return;
          await new Promise<void>((r) => wake.push(r));
          continue;
        }
        // Most frames carry this device's ID, current token and next REQNUM, so that mutated
        // payloads get past the gate to the command rules and the store.
        if (random() < 0.85 && frame.bytes.length >= HEADER_SIZE) {
          d.reqNum = (d.reqNum + 1) & 0xffff;
          const bytes = Buffer.from(frame.bytes);
          writeHeader(bytes, {
            ...frame.header,
            appCode: APP_CODE,
            deviceId: d.kkmId,
            token: d.token,
            reqNum: d.reqNum,
          });
          frame.bytes = bytes;
          frame.header = { ...frame.header, deviceId: d.kkmId, token: d.token, reqNum: d.reqNum };
          frame.payload = bytes.subarray(HEADER_SIZE);
        }
        const started = performance.now();
        let answer: Buffer;
        try {
          answer = await server.core.handle(frame);
        } catch (error) {
          crash('CommandCore.handle threw', error, frame.bytes);
          continue;
        }
        const ms = performance.now() - started;
        if (ms > fullSlowest.ms) {
          const result = decodeLoose(answer);
          fullSlowest = {
            ms,
            size: frame.bytes.length,
            hex: frame.bytes.subarray(0, 40).toString('hex'),
            answer: `command ${result.command}, result ${result.code}`,
          };
        }
        fullFrames++;
        try {
          const header = answer.subarray(0, HEADER_SIZE);
          const payload = answer.subarray(HEADER_SIZE);
          const reader = Response.decode(payload);
          const code = reader.result.result_code;
          fullCodes.set(String(code), (fullCodes.get(String(code)) ?? 0) + 1);
          if (frame.header.deviceId === d.kkmId && code === 0) {
            d.token = header.readUInt32LE(12);
            if (reader.command === Command.COMMAND_TICKET && reader.ticket) {
              d.acked.add(reader.ticket.ticket_number);
            }
          }
        } catch (error) {
          // An answer with a command outside the enum (4, echoed) does not decode strictly.
          const code = /command/.test((error as Error).message) ? 'unknown command echoed' : '?';
          fullCodes.set(code, (fullCodes.get(code) ?? 0) + 1);
          if (code === '?') crash('answer does not decode', error, answer);
        }
      }
    };
    const consumers = devices.map((_, i) => consume(i));

    const started = performance.now();
    let lastReport = started;
    let framesFound = 0;
    for (let n = 1; n <= FRAMES; n++) {
      const seed = mutator.pick(seeds);
      // Half the frames speak 2.0.2, half 2.0.3, whatever schema the seed was encoded with.
      const version = mutator.pick(VERSIONS);
      let payload: Buffer = seed;
      const rounds = 1 + mutator.int(3);
      let bytes: Buffer | null = null;
      for (let r = 0; r < rounds; r++) {
        if (bytes === null && random() < 0.6) {
          payload = mutator.mutateMessage(payload) ?? payload;
        } else {
          bytes ??= encodeFrame(
            { version, deviceId: 1 + mutator.int(FULL_DEVICES), token: 1, reqNum: n & 0xffff },
            payload,
          );
          bytes = mutator.mutateBytes(bytes);
        }
      }
      bytes ??= encodeFrame({ version, deviceId: 1, token: 1, reqNum: n & 0xffff }, payload);
      const found = framerAndCodec(bytes, random);
      framesFound += found.length;
      if (found.length && n % FULL_EVERY === 0) {
        const i = mutator.int(devices.length);
        queues[i]!.push(found[0]!);
        for (const w of wake.splice(0)) w();
        // Backpressure: the core is far slower than the codec.
        while (queues.reduce((a, q) => a + q.length, 0) > devices.length * 4) {
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      // The core shares this event loop: let it run often.
      if (n % 256 === 0) await new Promise((r) => setImmediate(r));
      if (n % 20_000 === 0) {
        const now = performance.now();
        if (now - lastReport > 10_000) {
          lastReport = now;
          console.log(
            `  ${n.toLocaleString('en')} frames, ${((now - started) / 1000).toFixed(0)} s, ` +
              `${fullFrames.toLocaleString('en')} through the core, ${crashes.length} crashes`,
          );
        }
      }
    }
    producing = false;
    for (const w of wake.splice(0)) w();
    wake = [];
    await Promise.all(consumers);
    await server.writer.drain();
    const seconds = (performance.now() - started) / 1000;

    // Every receipt answered OK to a device is stored exactly once (no half-written rows).
    const acked = [...devices.flatMap((d) => [...d.acked])];
    const stored = await server.db.rows<{ ticket_number: string; n: string }>(
      `SELECT ticket_number, count() AS n FROM documents
                WHERE doc_type = 'ticket' AND kkm_id IN {ids:Array(UInt32)}
                GROUP BY ticket_number`,
      { ids: devices.map((d) => d.kkmId) },
    );
    const storedSet = new Map(stored.map((r) => [r.ticket_number, Number(r.n)]));
    const lost = acked.filter((t) => !storedSet.has(t));
    const twice = stored.filter((r) => Number(r.n) > 1);
    const unacked = stored.filter((r) => !devices.some((d) => d.acked.has(r.ticket_number)));
    // And the server still serves a clean register.
    const [fresh] = await registerDevices(admin, 1);
    const okFrame = encodeFrame(
      { version: 202, deviceId: fresh!.kkmId, token: fresh!.token, reqNum: 1 },
      Request.encode(requests.ticket(ticket(random, { items: 2 }))).finish(),
    );
    const okAnswer = Response.decode(
      (await server.core.handle(parseFrame(okFrame) as Frame)).subarray(HEADER_SIZE),
    );

    // Was the slowest frame slow, or was the process (GC, another process on the CPU)?
    const again: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      framerAndCodec(slowest.bytes, seededRandom(i));
      again.push(performance.now() - t0);
    }
    again.sort((a, b) => a - b);
    const fmt = (n: number) => n.toLocaleString('en');
    const table = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `    ${k.padEnd(34)} ${fmt(v).padStart(11)}`)
        .join('\n');
    console.log(
      `\nfuzz: ${fmt(FRAMES)} mutated frames (FUZZ_SEED=${SEED}) in ${seconds.toFixed(1)} s`,
    );
    console.log(`  ${seeds.length} seed requests; ${fmt(framesFound)} frames found by the framer`);
    console.log(`\n  framer + codec, every frame — outcomes:\n${table(outcomes)}`);
    console.log(
      `\n  full CommandCore (real server: Redis + embedded ClickHouse), every ${FULL_EVERY}th ` +
        `frame that framed, ${FULL_DEVICES} devices — ${fmt(fullFrames)} frames, result codes:\n` +
        table(fullCodes),
    );
    console.log(
      `\n  receipts answered OK through the core: ${fmt(acked.length)}; stored: ` +
        `${fmt(stored.length)}; lost ${lost.length}, stored twice ${twice.length}, ` +
        `stored unacknowledged ${unacked.length}`,
    );
    console.log(
      `  a clean register afterwards: result ${okAnswer.result.result_code}` +
        (okAnswer.result.result_code === 0 ? ' (OK)' : ''),
    );
    console.log(
      `\n  slowest frame, framer + codec (after ${fmt(WARMUP_FRAMES)} warm-up frames): ` +
        `${slowest.ms.toFixed(2)} ms, ${fmt(slowest.size)} bytes, ${slowest.hex}… ` +
        `(timed again 21 times: median ${again[10]!.toFixed(3)} ms)`,
    );
    console.log(
      `  slowest frame, full core (its event loop shared with the fuzzer): ` +
        `${fullSlowest.ms.toFixed(2)} ms, ${fmt(fullSlowest.size)} bytes (${fullSlowest.answer}), ` +
        `${fullSlowest.hex}…`,
    );
    const failures = crashes.length + loggedErrors;
    console.log(
      `\n  crashes: ${crashes.length} thrown or process errors, ${loggedErrors} errors logged ` +
        `by the server${failures === 0 ? ' — none' : ''}`,
    );
    for (const c of crashes.slice(0, 10)) console.log(`    ${c.where}: ${c.message} ${c.hex}`);
    for (const line of logged.slice(0, 10)) console.log(`    log: ${line.trim()}`);
    const bad =
      failures > 0 ||
      lost.length > 0 ||
      twice.length > 0 ||
      unacked.length > 0 ||
      okAnswer.result.result_code !== 0;
    process.exitCode = bad ? 1 : 0;
  } finally {
    await cleanup();
  }
}

await main();
