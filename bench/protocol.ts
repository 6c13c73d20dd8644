// Protocol codec throughput: our static protobufjs module (src/protocol/schema.ts) against
// protobufjs reflection loading proto/*.proto at runtime, on the messages the server handles.
//
//   npx tsx bench/protocol.ts        BENCH_SECONDS (default 1) per timed run,
//                                    BENCH_WARMUP (default 20000) iterations per case
//
// The parent process builds the documents and checks once that both implementations decode to
// equal objects and encode to identical bytes. Each timed run then happens in a child process of
// its own that runs one implementation only, so neither shapes the JIT feedback of the code that
// measures the other; runs alternate static/reflection (S R R S S R). A child warms every case
// up, then runs each for BENCH_SECONDS; the table shows the median of the REPEATS runs.
//
// The framed path runs our codec (FrameDecoder, decodeRequest, encodeResponse) unchanged. Since
// codec.ts calls Request.decode and Response.encode of the static module, the reflection child
// points those two methods at the reflected types before anything runs.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import protobuf from 'protobufjs';
import { decodeRequest, encodeResponse } from '../src/protocol/codec.js';
import { FrameDecoder, type Frame, type FrameError } from '../src/protocol/framer.js';
import { CURRENT_VERSION, encodeFrame, type FrameHeader } from '../src/protocol/header.js';
import { fromTiyn } from '../src/protocol/money.js';
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
  dateTime,
  requests,
  seededRandom,
  ticket,
  vatIncluded,
  type Random,
} from '../src/sim/documents.js';

const SELF = fileURLToPath(import.meta.url);
const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));
const REPEATS = 3;
const SECONDS = positiveNumber('BENCH_SECONDS', 1);
const WARMUP = Math.round(positiveNumber('BENCH_WARMUP', 20_000));
/** Timed loops check the clock once per batch of about this many seconds. */
const BATCH_SECONDS = 0.005;

type Impl = 'static' | 'reflection';
const IMPLS: readonly Impl[] = ['static', 'reflection'];

function positiveNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${text} is not a number > 0`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// The two implementations

/** What both a static message class and a reflected protobuf.Type offer. */
interface MessageCodec {
  decode(bytes: Uint8Array): object;
  encode(message: object): protobuf.Writer;
  toObject(message: object, options: protobuf.IConversionOptions): Record<string, unknown>;
}
interface Codecs {
  Request: MessageCodec;
  Response: MessageCodec;
  /** Class of the messages this implementation decodes to. */
  RequestClass: abstract new (...args: never[]) => object;
}

function staticCodecs(): Codecs {
  return { Request: proto.Request, Response: proto.Response, RequestClass: proto.Request };
}

function reflectionCodecs(): Codecs {
  // The same configuration as src/protocol/numbers.ts: uint64 decodes to a JS number.
  protobuf.util.Long = null as never;
  protobuf.configure();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => PROTO_DIR + target.replace(/^.*\//, '');
  root.loadSync('message.proto', { keepCase: true });
  const request = root.lookupType('kkm.proto.Request');
  const response = root.lookupType('kkm.proto.Response');
  return { Request: request, Response: response, RequestClass: request.ctor };
}

/** Makes codec.ts (decodeRequest, encodeResponse) decode and encode through `codecs`. */
function routeCodecThrough(codecs: Codecs): () => void {
  if (codecs.Request === proto.Request) return () => {}; // static: codec.ts uses it already
  const used = proto as unknown as {
    Request: { decode: (bytes: Uint8Array) => object };
    Response: { encode: (message: object) => protobuf.Writer };
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

function verify(docs: Documents, s: Codecs, r: Codecs): string {
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
    const bytes = s[type].encode(value).finish();
    if (!sameBytes(bytes, r[type].encode(value).finish())) fail(`${label}: encodings differ`);
    const fromStatic = s[type].decode(bytes);
    const fromReflection = r[type].decode(bytes);
    for (const options of conversions) {
      const a = s[type].toObject(fromStatic, options);
      const b = r[type].toObject(fromReflection, options);
      if (!isDeepStrictEqual(a, b)) fail(`${label}: decoded objects differ`);
    }
    for (const decoded of [fromStatic, fromReflection]) {
      for (const codecs of [s, r]) {
        if (!sameBytes(codecs[type].encode(decoded).finish(), bytes)) {
          fail(`${label}: re-encoding a decoded message changes the bytes`);
        }
      }
    }
  }

  // uint64 past 2^32 must decode to the same JS number in both (Long disabled).
  const zBytes = s.Response.encode(docs.zResponse).finish();
  const expected = docs.zResponse.report?.zx_report?.non_nullable_sums?.[2]?.sum?.bills;
  for (const codecs of [s, r]) {
    const decoded = codecs.Response.decode(zBytes) as IResponse;
    const bills = decoded.report?.zx_report?.non_nullable_sums?.[2]?.sum?.bills;
    if (typeof bills !== 'number' || bills !== expected || bills < 2 ** 32) {
      fail(`uint64 decodes to ${typeof bills} ${String(bills)}, not the number ${expected}`);
    }
  }

  // The framed path through codec.ts, once per implementation.
  const framed = [s, r].map((codecs) => {
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
  const [fs, fr] = framed as [(typeof framed)[0], (typeof framed)[0]];
  if (!isDeepStrictEqual(fs.object, fr.object)) fail('decodeRequest results differ');
  if (!sameBytes(fs.answerFrame, fr.answerFrame)) fail('encodeResponse frames differ');
  if (fs.digest !== fr.digest) fail('wire inputs differ');
  return fs.digest;
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

function cases(codecs: Codecs, docs: Documents): { digest: string; cases: Case[] } {
  const { ticketPayload, zPayload, ticketFrame, answerFrame, digest } = wire(codecs, docs);
  const { ticketRequest, zResponse, ticketAnswer, header } = docs;
  const requestCodec = codecs.Request;
  const responseCodec = codecs.Response;
  const decoder = new FrameDecoder();
  const onFrame = (frame: Frame): void => {
    const decoded = decodeRequest(frame);
    if (!decoded.ok) throw new Error(decoded.reason);
    sink = decoded;
  };
  const onError = (error: FrameError): void => {
    throw error;
  };
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
  return { digest, cases: list };
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

function child(impl: Impl): void {
  const codecs = impl === 'static' ? staticCodecs() : reflectionCodecs();
  if (impl === 'reflection') routeCodecThrough(codecs);
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
  const docs = documents();
  const staticSide = staticCodecs();
  const digest = verify(docs, staticSide, reflectionCodecs());
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
  const rows = runs[0]!.results.map((c, i) => {
    const staticOps = median(rates('static', i));
    const reflectionOps = median(rates('reflection', i));
    return [
      c.name,
      String(c.bytes),
      fmt.format(staticOps),
      fmt.format(reflectionOps),
      `${(staticOps / reflectionOps).toFixed(2)}x`,
    ];
  });
  const head = ['case', 'bytes', 'static ops/s', 'reflection ops/s', 'static/reflection'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)));
  console.log();
  console.log(line(head).join('  '));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row).join('  '));
  console.log();
  console.log('bytes: protobuf payload; framed cases: whole frame incl. the 18-byte header');
  console.log('individual runs (ops/s):');
  runs[0]!.results.forEach((c, i) => {
    const list = (impl: Impl) =>
      rates(impl, i)
        .map((v) => fmt.format(v))
        .join(' / ');
    console.log(`  ${c.name}: static ${list('static')}; reflection ${list('reflection')}`);
  });
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  const impl = process.argv[childIndex + 1];
  if (impl !== 'static' && impl !== 'reflection') throw new Error(`unknown implementation ${impl}`);
  child(impl);
} else {
  await main();
}
