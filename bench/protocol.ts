// Protocol codec throughput: protobufjs reflection, which is what the server uses (the types
// src/protocol/schema.ts builds from the kkm.json descriptor), against protobufjs static code
// generated from the same proto/*.proto, the alternative measured against it, on the messages the
// server handles.
//
//   npx tsx bench/protocol.ts        BENCH_SECONDS (default 1) per timed run,
//                                    BENCH_WARMUP (default 20000) iterations per case
//
// At start the parent generates the static module into bench/out/ (gitignored) with pbjs, the
// flags the static code would be built with (--keep-case --force-number --no-delimited), and
// imports it dynamically. It then builds the documents and checks once that both implementations
// decode to equal objects and encode to identical bytes. Each timed run happens in a child
// process of its own that runs one implementation only, so neither shapes the JIT feedback of the
// code that measures the other; runs alternate reflection/static (R S S R R S). A child warms
// every case up, then runs each for BENCH_SECONDS; the table shows the median of the REPEATS runs.
//
// Protocol 2.0.3 (VERSION 203) runs beside 2.0.2 in the reflection child (the server has no
// static 2.0.3 code to compare with): the same 10-item receipt as a 2.0.3 register sends it
// (domain, reg_info, an NTIN per line) and the same Z report, through the 2.0.3 schema and a
// VERSION 203 frame; a second table sets its rates beside 2.0.2's.
//
// The framed path runs our codec (FrameDecoder, decodeRequest, encodeResponse) unchanged. Since
// codec.ts calls Request.decode and Response.encode of the reflected types, the static child
// points those two methods at the static types before anything runs; the reflection child runs
// the codec untouched.
import { fork, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { IConversionOptions, Type, Writer } from 'protobufjs/light.js';
import { decodeRequest, encodeResponse } from '../src/protocol/codec.js';
import { FrameDecoder, type Frame, type FrameError } from '../src/protocol/framer.js';
import type { kkm } from '../src/protocol/generated/kkm.js';
import { CURRENT_VERSION, encodeFrame, type FrameHeader } from '../src/protocol/header.js';
import { V203, VERSION_203 } from '../src/protocol/versions.js';
import { fromTiyn } from '../src/fiscal/money.js';
import {
  Command,
  MoneyPlacementType,
  Operation,
  PaymentType,
  ReportType,
  ResultCode,
  proto,
  type IRequest,
  type IResponse,
  type IZXReport,
} from '../src/protocol/schema.js';
import {
  as203,
  dateTime,
  requests,
  seededRandom,
  ticket,
  vatIncluded,
  type Random,
} from '../src/sim/documents.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The generated static module, relative to ROOT (bench/out/ is gitignored). */
const STATIC_MODULE = 'bench/out/kkm-static.js';
const REPEATS = 3;
const SECONDS = positiveNumber('BENCH_SECONDS', 1);
const WARMUP = Math.round(positiveNumber('BENCH_WARMUP', 20_000));
/** Timed loops check the clock once per batch of about this many seconds. */
const BATCH_SECONDS = 0.005;

type Impl = 'reflection' | 'static';
const IMPLS: readonly Impl[] = ['reflection', 'static'];

function positiveNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${text} is not a number > 0`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// The two implementations

/** What both a reflected protobuf.Type and a static message class offer. */
interface MessageCodec {
  decode(bytes: Uint8Array): object;
  encode(message: object): Writer;
  toObject(message: object, options: IConversionOptions): Record<string, unknown>;
}
interface Codecs {
  Request: MessageCodec;
  Response: MessageCodec;
  /** Class of the messages this implementation decodes to. */
  RequestClass: abstract new (...args: never[]) => object;
}

/** The types codec.ts decodes and encodes through: reflection, built by schema.ts. */
const reflected = proto as unknown as { Request: Type; Response: Type };

function reflectionCodecs(): Codecs {
  const { Request, Response } = reflected;
  return { Request, Response, RequestClass: Request.ctor };
}

/** Generates the static module into bench/out/; throws if pbjs fails. */
function generateStatic(): void {
  const protos = readdirSync(`${ROOT}proto`)
    .filter((name) => name.endsWith('.proto'))
    .sort()
    .map((name) => `proto/${name}`);
  if (protos.length === 0) throw new Error(`no .proto files in ${ROOT}proto`);
  mkdirSync(`${ROOT}bench/out`, { recursive: true });
  const args = [
    'pbjs',
    ...['-t', 'static-module', '-w', 'es6', '--keep-case', '--force-number', '--no-delimited'],
    ...['--no-comments', '-o', STATIC_MODULE, ...protos],
  ];
  const result = spawnSync('npx', args, { cwd: ROOT, stdio: 'inherit' });
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? `exit ${result.status ?? result.signal}`;
    throw new Error(`generating the static module failed: npx ${args.join(' ')}: ${why}`);
  }
}

async function staticCodecs(): Promise<Codecs> {
  // A computed specifier: the module exists only once generateStatic() has run.
  const url = pathToFileURL(ROOT + STATIC_MODULE).href;
  const generated = (await import(url)) as { kkm: typeof kkm };
  const { Request, Response } = generated.kkm.proto;
  if (typeof Request?.decode !== 'function' || typeof Response?.encode !== 'function') {
    throw new Error(`${STATIC_MODULE} has no kkm.proto.Request/Response`);
  }
  return { Request, Response, RequestClass: Request };
}

/** Makes codec.ts (decodeRequest, encodeResponse) decode and encode through `codecs`. */
function routeCodecThrough(codecs: Codecs): () => void {
  const { Request, Response } = reflected;
  if (codecs.Request === Request) return () => {}; // reflection: codec.ts uses it already
  // Type#setup, which the first decode/encode/toObject/... of a reflected type runs, replaces
  // decode and encode with generated functions: run it now so that it cannot undo the swap.
  Request.setup();
  Response.setup();
  const used = reflected as unknown as {
    Request: { decode: (bytes: Uint8Array) => object };
    Response: { encode: (message: object) => Writer };
  };
  const { decode } = used.Request;
  const { encode } = used.Response;
  used.Request.decode = (bytes) => codecs.Request.decode(bytes);
  used.Response.encode = (message) => codecs.Response.encode(message);
  return () => {
    used.Request.decode = decode;
    used.Response.encode = encode;
  };
}

// ---------------------------------------------------------------------------------------------
// Documents (deterministic)

const OPERATIONS = [
  { operation: Operation.OPERATION_BUY, tickets: [1, 3] },
  { operation: Operation.OPERATION_BUY_RETURN, tickets: [1, 2] },
  { operation: Operation.OPERATION_SELL, tickets: [120, 360] },
  { operation: Operation.OPERATION_SELL_RETURN, tickets: [1, 4] },
] as const;
const SECTION_CODES = ['1', '2', '3'];
const VAT = { tax_type: 100, percent: 12000 };
const SHIFT_DAY = [2025, 2, 13] as const; // 13 March 2025 (UTC month index)
const at = (h: number, m: number, s: number) => new Date(Date.UTC(...SHIFT_DAY, h, m, s));

/** A full Z report of a busy shift: 3 sections, all four operations, cash/card/mobile. */
function zReport(random: Random, shiftNumber: number): IZXReport {
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const part = (tiyn: number, share: number) => Math.round(tiyn * share);
  const totals = OPERATIONS.map(({ operation, tickets }) => ({
    operation,
    tickets,
    count: 0,
    sum: 0,
  }));

  const sections = SECTION_CODES.map((section_code) => ({
    section_code,
    operations: totals.map((t) => {
      const count = int(t.tickets[0], t.tickets[1]);
      const sum = count * int(50_000, 1_200_000);
      t.count += count;
      t.sum += sum;
      return { operation: t.operation, count, sum: fromTiyn(sum) };
    }),
  }));

  const ops = totals.map((t) => {
    const discountCount = Math.round(t.count * 0.12);
    const markupCount = Math.round(t.count * 0.03);
    const discount = part(t.sum, 0.018);
    const markup = part(t.sum, 0.004);
    const net = t.sum - discount + markup;
    const taxed = part(net, 2 / 3); // every third line is tax-free
    const vat = vatIncluded(taxed);
    const cashCount = Math.round(t.count * 0.45);
    const cardCount = Math.round(t.count * 0.4);
    const cash = part(net, 0.38);
    const card = part(net, 0.47);
    const startNonNullable =
      t.operation === Operation.OPERATION_SELL
        ? int(500_000_000_000, 90_000_000_000_000) // past 2^32 tenge: full 64-bit varints
        : int(100_000_000, 9_000_000_000);
    return {
      ...t,
      discountCount,
      markupCount,
      discount,
      markup,
      net,
      vat,
      startNonNullable,
      payments: [
        { payment: PaymentType.PAYMENT_CASH, sum: cash, count: cashCount },
        { payment: PaymentType.PAYMENT_CARD, sum: card, count: cardCount },
        {
          payment: PaymentType.PAYMENT_MOBILE,
          sum: net - cash - card,
          count: t.count - cashCount - cardCount,
        },
      ],
    };
  });

  const cashOf = (operation: number) =>
    ops.find((o) => o.operation === operation)?.payments[0]?.sum ?? 0;
  const cashFlow =
    cashOf(Operation.OPERATION_SELL) -
    cashOf(Operation.OPERATION_SELL_RETURN) -
    cashOf(Operation.OPERATION_BUY) +
    cashOf(Operation.OPERATION_BUY_RETURN);
  const deposit = Math.max(4_000_000, -cashFlow);
  const withdrawal = Math.floor((deposit + cashFlow) * 0.8);
  const netOf = (operation: number) => ops.find((o) => o.operation === operation)?.net ?? 0;
  const revenue =
    netOf(Operation.OPERATION_SELL) -
    netOf(Operation.OPERATION_SELL_RETURN) -
    (netOf(Operation.OPERATION_BUY) - netOf(Operation.OPERATION_BUY_RETURN));
  const annulledSum = int(10_000, 500_000);

  const report: IZXReport = {
    date_time: dateTime(at(21, 58, 3)),
    shift_number: shiftNumber,
    sections,
    operations: ops.map((o) => ({ operation: o.operation, count: o.count, sum: fromTiyn(o.sum) })),
    discounts: ops.map((o) => ({
      operation: o.operation,
      count: o.discountCount,
      sum: fromTiyn(o.discount),
    })),
    markups: ops.map((o) => ({
      operation: o.operation,
      count: o.markupCount,
      sum: fromTiyn(o.markup),
    })),
    total_result: ops.map((o) => ({
      operation: o.operation,
      count: o.count,
      sum: fromTiyn(o.net),
    })),
    taxes: [
      {
        ...VAT,
        operations: ops.map((o) => ({
          operation: o.operation,
          turnover: fromTiyn(o.net),
          sum: fromTiyn(o.vat),
          turnover_without_tax: fromTiyn(o.net - o.vat),
        })),
      },
    ],
    start_shift_non_nullable_sums: ops.map((o) => ({
      operation: o.operation,
      sum: fromTiyn(o.startNonNullable),
    })),
    ticket_operations: ops.map((o) => ({
      operation: o.operation,
      tickets_total_count: int(1_000, 200_000) + o.count,
      tickets_count: o.count,
      tickets_sum: fromTiyn(o.net),
      payments: o.payments.map((p) => ({ ...p, sum: fromTiyn(p.sum) })),
      offline_count: int(0, Math.min(3, o.count)),
      discount_sum: fromTiyn(o.discount),
      markup_sum: fromTiyn(o.markup),
      change_sum: fromTiyn(int(0, 2_000) * (o.payments[0]?.count ?? 0)),
    })),
    money_placements: [
      {
        operation: MoneyPlacementType.MONEY_PLACEMENT_DEPOSIT,
        operations_total_count: int(100, 200),
        operations_count: 1,
        operations_sum: fromTiyn(deposit),
        offline_count: 0,
      },
      {
        operation: MoneyPlacementType.MONEY_PLACEMENT_WITHDRAWAL,
        operations_total_count: int(100, 200),
        operations_count: 1,
        operations_sum: fromTiyn(withdrawal),
        offline_count: 0,
      },
    ],
    annulled_tickets: {
      annulled_tickets_total_count: int(5, 30),
      annulled_tickets_count: 1,
      annulled_operations: OPERATIONS.map(({ operation }) => {
        const sell = operation === Operation.OPERATION_SELL;
        return { operation, count: sell ? 1 : 0, sum: fromTiyn(sell ? annulledSum : 0) };
      }),
    },
    cash_sum: fromTiyn(deposit + cashFlow - withdrawal),
    revenue: { sum: fromTiyn(Math.abs(revenue)), is_negative: revenue < 0 },
    non_nullable_sums: ops.map((o) => ({
      operation: o.operation,
      sum: fromTiyn(o.startNonNullable + o.net),
    })),
    open_shift_time: dateTime(at(8, 0, 57)),
    close_shift_time: dateTime(at(21, 58, 3)),
  };
  report.checksum = createHash('md5').update(JSON.stringify(report)).digest('hex');
  return report;
}

interface Documents {
  ticketRequest: IRequest;
  zResponse: IResponse;
  ticketAnswer: IResponse;
  header: Pick<FrameHeader, 'version' | 'deviceId' | 'token' | 'reqNum'>;
}

function documents(): Documents {
  const receipt = ticket(seededRandom(20250314), { items: 10, at: at(14, 35, 22) });
  const total = receipt.amounts.total;
  const qr =
    `http://consumer.example-ofd.kz?i=925687330713&f=010102360873` +
    `&s=${total.bills}.${String(total.coins).padStart(2, '0')}&t=20250313T143522`;
  return {
    ticketRequest: requests.ticket(receipt),
    zResponse: {
      command: Command.COMMAND_REPORT,
      result: { result_code: ResultCode.RESULT_TYPE_OK },
      report: { report: ReportType.REPORT_Z, zx_report: zReport(seededRandom(147), 147) },
    },
    ticketAnswer: {
      command: Command.COMMAND_TICKET,
      result: { result_code: ResultCode.RESULT_TYPE_OK },
      ticket: { ticket_number: '925687330713', qr_code: Buffer.from(qr) },
    },
    header: { version: CURRENT_VERSION, deviceId: 10102360, token: 2_781_904_417, reqNum: 4711 },
  };
}

/** The wire inputs, encoded by the given implementation. */
function wire(codecs: Codecs, docs: Documents) {
  const ticketPayload = codecs.Request.encode(docs.ticketRequest).finish();
  const zPayload = codecs.Response.encode(docs.zResponse).finish();
  const ticketFrame = encodeFrame(docs.header, ticketPayload);
  const answerFrame = encodeResponse(docs.header, docs.header.token, docs.ticketAnswer);
  const digest = createHash('sha256');
  for (const bytes of [ticketPayload, zPayload, ticketFrame, answerFrame]) digest.update(bytes);
  return { ticketPayload, zPayload, ticketFrame, answerFrame, digest: digest.digest('hex') };
}

// ---------------------------------------------------------------------------------------------
// One-time check that both implementations agree

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

function verify(docs: Documents, r: Codecs, s: Codecs): string {
  const fail = (what: string): never => {
    throw new Error(`verification failed: ${what}`);
  };
  const conversions = [false, true].map((defaults) => ({
    longs: Number,
    enums: Number,
    bytes: String,
    defaults,
    arrays: defaults,
    objects: defaults,
  }));
  const messages = [
    ['ticket Request', 'Request', docs.ticketRequest],
    ['Z report Response', 'Response', docs.zResponse],
    ['ticket answer Response', 'Response', docs.ticketAnswer],
  ] as const;
  for (const [label, type, value] of messages) {
    const bytes = r[type].encode(value).finish();
    if (!sameBytes(bytes, s[type].encode(value).finish())) fail(`${label}: encodings differ`);
    const fromReflection = r[type].decode(bytes);
    const fromStatic = s[type].decode(bytes);
    for (const options of conversions) {
      const a = r[type].toObject(fromReflection, options);
      const b = s[type].toObject(fromStatic, options);
      if (!isDeepStrictEqual(a, b)) fail(`${label}: decoded objects differ`);
    }
    for (const decoded of [fromReflection, fromStatic]) {
      for (const codecs of [r, s]) {
        if (!sameBytes(codecs[type].encode(decoded).finish(), bytes)) {
          fail(`${label}: re-encoding a decoded message changes the bytes`);
        }
      }
    }
  }

  // uint64 past 2^32 must decode to the same JS number in both (Long disabled).
  const zBytes = r.Response.encode(docs.zResponse).finish();
  const expected = docs.zResponse.report?.zx_report?.non_nullable_sums?.[2]?.sum?.bills;
  for (const codecs of [r, s]) {
    const decoded = codecs.Response.decode(zBytes) as IResponse;
    const bills = decoded.report?.zx_report?.non_nullable_sums?.[2]?.sum?.bills;
    if (typeof bills !== 'number' || bills !== expected || bills < 2 ** 32) {
      fail(`uint64 decodes to ${typeof bills} ${String(bills)}, not the number ${expected}`);
    }
  }

  // The framed path through codec.ts, once per implementation.
  const framed = [r, s].map((codecs) => {
    const restore = routeCodecThrough(codecs);
    try {
      const { ticketFrame, answerFrame, digest } = wire(codecs, docs);
      const frames: Frame[] = [];
      new FrameDecoder().push(
        ticketFrame,
        (frame) => frames.push(frame),
        (error) => fail(`framer: ${error.message}`),
      );
      const decoded = frames.length === 1 && frames[0] ? decodeRequest(frames[0]) : null;
      if (!decoded?.ok) return fail(`framed ticket not accepted: ${JSON.stringify(decoded)}`);
      if (!(decoded.request instanceof codecs.RequestClass)) fail('codec.ts was not rerouted');
      const object = codecs.Request.toObject(decoded.request, conversions[1]!);
      return { object, answerFrame, digest };
    } finally {
      restore();
    }
  });
  const [fr, fs] = framed as [(typeof framed)[0], (typeof framed)[0]];
  if (!isDeepStrictEqual(fr.object, fs.object)) fail('decodeRequest results differ');
  if (!sameBytes(fr.answerFrame, fs.answerFrame)) fail('encodeResponse frames differ');
  if (fr.digest !== fs.digest) fail('wire inputs differ');
  return fr.digest;
}

// ---------------------------------------------------------------------------------------------
// Timing (child process: one implementation)

interface Case {
  name: string;
  bytes: number;
  run: (iterations: number) => void;
}
interface CaseResult {
  name: string;
  bytes: number;
  opsPerSecond: number;
}
interface ChildReport {
  impl: Impl;
  digest: string;
  results: CaseResult[];
}

/** Every result is stored here, so that no call can be optimized away. */
let sink: unknown;

/** Frame callbacks that keep each decoded request (so no call is optimized away); errors throw. */
function keepingHandlers() {
  return {
    onFrame: (frame: Frame): void => {
      const decoded = decodeRequest(frame);
      if (!decoded.ok) throw new Error(decoded.reason);
      sink = decoded;
    },
    onError: (error: FrameError): void => {
      throw error;
    },
  };
}

function cases(codecs: Codecs, docs: Documents): { digest: string; cases: Case[] } {
  const { ticketPayload, zPayload, ticketFrame, answerFrame, digest } = wire(codecs, docs);
  const { ticketRequest, zResponse, ticketAnswer, header } = docs;
  const requestCodec = codecs.Request;
  const responseCodec = codecs.Response;
  const decoder = new FrameDecoder();
  const { onFrame, onError } = keepingHandlers();
  new FrameDecoder().push(
    ticketFrame,
    (frame) => {
      const decoded = decodeRequest(frame);
      if (!decoded.ok || !(decoded.request instanceof codecs.RequestClass)) {
        throw new Error('codec.ts does not decode through the implementation measured');
      }
    },
    onError,
  );
  const list: Case[] = [
    {
      name: 'ticket Request (10 items) decode',
      bytes: ticketPayload.length,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = requestCodec.decode(ticketPayload);
      },
    },
    {
      name: 'ticket Request (10 items) encode',
      bytes: ticketPayload.length,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = requestCodec.encode(ticketRequest).finish();
      },
    },
    {
      name: 'Z report Response decode',
      bytes: zPayload.length,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = responseCodec.decode(zPayload);
      },
    },
    {
      name: 'Z report Response encode',
      bytes: zPayload.length,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = responseCodec.encode(zResponse).finish();
      },
    },
    {
      name: 'framed ticket: push + decodeRequest',
      bytes: ticketFrame.length,
      run: (n) => {
        for (let i = 0; i < n; i++) decoder.push(ticketFrame, onFrame, onError);
      },
    },
    {
      name: 'framed ticket: encodeResponse',
      bytes: answerFrame.length,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = encodeResponse(header, header.token, ticketAnswer);
      },
    },
  ];
  if (codecs.Request === reflected.Request) list.push(...cases203(docs));
  return { digest, cases: list };
}

/** The same documents as a 2.0.3 register and the server exchange them (VERSION 203). */
function cases203(docs: Documents): Case[] {
  const ticketRequest = as203(docs.ticketRequest);
  for (const item of ticketRequest.ticket!.items!) {
    item.commodity = { ...item.commodity!, ntin: '0487000123456' };
  }
  const header = { ...docs.header, version: VERSION_203 };
  const ticketPayload = V203.Request.encode(ticketRequest).finish();
  const zPayload = V203.Response.encode(docs.zResponse).finish();
  const ticketFrame = encodeFrame(header, ticketPayload);
  const answerFrame = encodeResponse(header, header.token, docs.ticketAnswer);
  const decoder = new FrameDecoder();
  const { onFrame, onError } = keepingHandlers();
  decoder.push(ticketFrame, onFrame, onError);
  const loop =
    (one: () => unknown) =>
    (n: number): void => {
      for (let i = 0; i < n; i++) sink = one();
    };
  return [
    {
      name: '2.0.3 ticket Request (10 items) decode',
      bytes: ticketPayload.length,
      run: loop(() => V203.Request.decode(ticketPayload)),
    },
    {
      name: '2.0.3 ticket Request (10 items) encode',
      bytes: ticketPayload.length,
      run: loop(() => V203.Request.encode(ticketRequest).finish()),
    },
    {
      name: '2.0.3 Z report Response decode',
      bytes: zPayload.length,
      run: loop(() => V203.Response.decode(zPayload)),
    },
    {
      name: '2.0.3 Z report Response encode',
      bytes: zPayload.length,
      run: loop(() => V203.Response.encode(docs.zResponse).finish()),
    },
    {
      name: '2.0.3 framed ticket: push + decodeRequest',
      bytes: ticketFrame.length,
      run: (n) => {
        for (let i = 0; i < n; i++) decoder.push(ticketFrame, onFrame, onError);
      },
    },
    {
      name: '2.0.3 framed ticket: encodeResponse',
      bytes: answerFrame.length,
      run: loop(() => encodeResponse(header, header.token, docs.ticketAnswer)),
    },
  ];
}

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

function timeCases(list: Case[]): CaseResult[] {
  const batches = list.map((c) => {
    const start = process.hrtime.bigint();
    c.run(WARMUP);
    const perOp = seconds(start) / WARMUP;
    return Math.max(1, Math.min(1_000_000, Math.round(BATCH_SECONDS / perOp)));
  });
  return list.map((c, i) => {
    const batch = batches[i]!;
    const start = process.hrtime.bigint();
    let ops = 0;
    let elapsed: number;
    do {
      c.run(batch);
      ops += batch;
      elapsed = seconds(start);
    } while (elapsed < SECONDS);
    return { name: c.name, bytes: c.bytes, opsPerSecond: ops / elapsed };
  });
}

async function child(impl: Impl): Promise<void> {
  // Only the static child loads the static module; the reflection child runs the codec untouched.
  const codecs = impl === 'static' ? await staticCodecs() : reflectionCodecs();
  if (impl === 'static') routeCodecThrough(codecs);
  const { digest, cases: list } = cases(codecs, documents());
  const results = timeCases(list);
  if (sink === undefined) throw new Error('sink was never written');
  const report: ChildReport = { impl, digest, results };
  process.send!(report, () => process.disconnect());
}

// ---------------------------------------------------------------------------------------------
// Parent: verify, run the children, print the table

function runChild(impl: Impl): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const proc = fork(SELF, ['--child', impl], { stdio: 'inherit' });
    let report: ChildReport | undefined;
    proc.on('message', (message) => (report = message as ChildReport));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (code === 0 && report?.impl === impl) resolve(report);
      else reject(new Error(`${impl} run failed (exit ${code ?? signal})`));
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

async function main(): Promise<void> {
  process.stderr.write(`generating ${STATIC_MODULE}\n`);
  generateStatic();
  const docs = documents();
  const digest = verify(docs, reflectionCodecs(), await staticCodecs());
  const { version } = createRequire(import.meta.url)('protobufjs/package.json') as {
    version: string;
  };
  const cpu = cpus();
  console.log(`Node ${process.version} ${process.platform}/${process.arch}, protobufjs ${version}`);
  console.log(`CPU: ${cpu[0]?.model.trim() ?? 'unknown'} (${cpu.length} logical)`);
  console.log(
    `${WARMUP} warm-up iterations, ${SECONDS} s per run, median of ${REPEATS} runs, ` +
      'one process per run; both implementations verified equal (objects and bytes)',
  );

  const runs: ChildReport[] = [];
  for (let r = 0; r < REPEATS; r++) {
    for (const impl of r % 2 === 0 ? IMPLS : [...IMPLS].reverse()) {
      process.stderr.write(`run ${runs.length + 1}/${REPEATS * IMPLS.length}: ${impl}\n`);
      const report = await runChild(impl);
      if (report.digest !== digest) throw new Error(`${impl} run measured different wire inputs`);
      runs.push(report);
    }
  }

  const rates = (impl: Impl, i: number) =>
    runs.filter((run) => run.impl === impl).map((run) => run.results[i]!.opsPerSecond);
  const staticCount = runs.find((run) => run.impl === 'static')!.results.length;
  const rows = runs[0]!.results.slice(0, staticCount).map((c, i) => {
    const reflectionOps = median(rates('reflection', i));
    const staticOps = median(rates('static', i));
    return [
      c.name,
      String(c.bytes),
      fmt.format(reflectionOps),
      fmt.format(staticOps),
      `${(reflectionOps / staticOps).toFixed(2)}x`,
    ];
  });
  table(['case', 'bytes', 'reflection ops/s', 'static ops/s', 'reflection/static'], rows);
  // 2.0.3 beside 2.0.2, both through reflection (what the server runs).
  const reflection = runs.find((run) => run.impl === 'reflection')!.results;
  const versusRows = reflection.slice(staticCount).map((c, k) => {
    const v202 = median(rates('reflection', k));
    const v203 = median(rates('reflection', staticCount + k));
    const base = reflection[k]!;
    return [
      c.name.replace(/^2\.0\.3 /, ''),
      `${base.bytes} / ${c.bytes}`,
      fmt.format(v202),
      fmt.format(v203),
      `${(v203 / v202).toFixed(2)}x`,
    ];
  });
  table(
    ['case (reflection)', 'bytes 2.0.2 / 2.0.3', '2.0.2 ops/s', '2.0.3 ops/s', '2.0.3/2.0.2'],
    versusRows,
  );
  console.log();
  console.log('bytes: protobuf payload; framed cases: whole frame incl. the 18-byte header');
  console.log('individual runs (ops/s):');
  reflection.forEach((c, i) => {
    const list = (impl: Impl) =>
      rates(impl, i)
        .map((v) => fmt.format(v))
        .join(' / ');
    const statics = i < staticCount ? `; static ${list('static')}` : '';
    console.log(`  ${c.name}: reflection ${list('reflection')}${statics}`);
  });
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)));
  console.log();
  console.log(line(head).join('  '));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row).join('  '));
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  const impl = process.argv[childIndex + 1];
  if (impl !== 'reflection' && impl !== 'static') throw new Error(`unknown implementation ${impl}`);
  await child(impl);
} else {
  await main();
}
