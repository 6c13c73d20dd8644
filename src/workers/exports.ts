// Downloads of receipts and reports (cabinet manual §9.2, §10.2) as a zip archive:
//   tickets, csv  → tickets.csv (one row per receipt), items.csv, payments.csv
//   tickets, json → tickets.json (receipts with their items and payments)
//   reports, csv  → reports.csv (one row per Z report: the device's and the server's figures)
//   reports, json → reports.json (both Z reports whole)
// Rows are read from ClickHouse page by page in doc_seq order (a page per query, the key order
// of the table) and streamed through the zip writer into DATA_DIR/exports/<job id>.zip, so the
// memory used does not grow with the size of the export. The documents read are those stored
// when the export began (doc_seq ≤ the highest at that moment).
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Job } from 'bullmq';
import { stringifyCsv } from './csv-safe.js';
import yazl from 'yazl';
import { compareReports } from '../fiscal/zx-report.js';
import { tenge, toTiyn } from '../fiscal/money.js';
import { ItemType, Operation, PaymentType, type IZXReport } from '../protocol/schema.js';
import type { Db } from '../storage/db.js';
import { ExportReads, type ExportColumns } from '../storage/export-reads.js';
import { readTicket203 } from '../storage/ticket-columns-203.js';
import type { ExportJobData, ExportResult } from '../jobs/queues.js';

type Row = Record<string, unknown>;

const names = (values: object, prefix: string): Record<number, string> =>
  Object.fromEntries(
    Object.entries(values as Record<string, number>).map(([k, v]) => [
      v,
      k.slice(prefix.length).toLowerCase(),
    ]),
  );
const OPERATIONS = names(Operation, 'OPERATION_');
const PAYMENTS = names(PaymentType, 'PAYMENT_');
const ITEM_TYPES = names(ItemType, 'ITEM_TYPE_');

/** Thousandths as a decimal text: 1500 → "1.500". */
const thousandths = (v: unknown): string => {
  const n = Number(v);
  return `${Math.trunc(n / 1000)}.${String(Math.abs(n) % 1000).padStart(3, '0')}`;
};
const money = (v: unknown): string => tenge(BigInt(String(v ?? 0)));
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export const exportsDir = (dataDir: string): string => join(dataDir, 'exports');

const TICKET_COLUMNS = [
  'doc_seq',
  'ticket_number',
  'shift_number',
  'device_time',
  'received_at',
  'operation',
  'total',
  'taken',
  'change',
  'discount',
  'markup',
  'is_offline',
  'offline_number',
  'printed_number',
  'operator_code',
  'operator_name',
  'customer_iin',
  'customer_email',
  'customer_phone',
  'annulled',
  'protocol_version',
  'domain',
  'parent_number',
  'parent_time',
  'parent_kgd_kkm_id',
  'parent_total',
  'parent_offline',
];
const ITEM_COLUMNS = [
  'doc_seq',
  'ticket_number',
  'line',
  'type',
  'name',
  'section',
  'quantity',
  'price',
  'sum',
  'code',
  'barcode',
  'unit',
  'tax_percent',
  'tax_sum',
  'ntin',
  'excise_stamps',
];
const PAYMENT_COLUMNS = [
  'doc_seq',
  'ticket_number',
  'type',
  'sum',
  'card_terminal_id',
  'card_type',
  'card_auth_code',
  'card_rrn',
  'card_receipt_number',
  'mobile_qr_type',
  'mobile_qr_id',
];
const REPORT_FIGURES = [
  'sell_count',
  'sell_sum',
  'sell_return_count',
  'sell_return_sum',
  'buy_count',
  'buy_sum',
  'buy_return_count',
  'buy_return_sum',
  'cash_sum',
  'revenue',
];
const REPORT_COLUMNS = [
  'doc_seq',
  'shift_number',
  'closed_at',
  'received_at',
  'is_offline',
  'printed_number',
  'operator_code',
  ...REPORT_FIGURES.map((f) => `server_${f}`),
  ...REPORT_FIGURES.map((f) => `device_${f}`),
  'differences',
];

function ticketRecord(r: Row): unknown[] {
  return [
    r.doc_seq,
    r.ticket_number,
    r.shift_number,
    r.device_text,
    r.received_text,
    OPERATIONS[Number(r.operation)] ?? r.operation,
    money(r.total),
    money(r.taken),
    money(r.change),
    money(r.discount),
    money(r.markup),
    r.is_offline,
    r.offline_number,
    r.printed_number,
    r.operator_code,
    r.operator_name,
    r.customer_iin,
    r.customer_email,
    r.customer_phone,
    Number(r.annulled),
    ...parentRecord(r),
  ];
}

/** protocol_version, domain and the parent ticket columns of a receipt (2.0.3). */
function parentRecord(r: Row): unknown[] {
  const v = readTicket203(r);
  const p = v.parentTicket;
  return [
    v.protocolVersion,
    v.domain,
    p?.number ?? '',
    p?.dateTime ?? '',
    p?.kgdKkmId ?? '',
    p ? money(p.total) : '',
    p ? Number(p.offline) : '',
  ];
}

function itemRecords(r: Row): unknown[][] {
  const types = arr(r['items.type']);
  return types.map((type, i) => [
    r.doc_seq,
    r.ticket_number,
    i + 1,
    ITEM_TYPES[Number(type)] ?? type,
    arr(r['items.name'])[i],
    arr(r['items.section'])[i],
    thousandths(arr(r['items.quantity'])[i]),
    money(arr(r['items.price'])[i]),
    money(arr(r['items.sum'])[i]),
    arr(r['items.code'])[i],
    arr(r['items.barcode'])[i],
    arr(r['items.unit'])[i],
    thousandths(arr(r['items.tax_percent'])[i]),
    money(arr(r['items.tax_sum'])[i]),
    arr(r['items.ntin'])[i] ?? '',
    (arr(arr(r['items.excise_stamps'])[i]) as string[]).join(' '),
  ]);
}

function paymentRecords(r: Row): unknown[][] {
  return arr(r['payments.type']).map((type, i) => [
    r.doc_seq,
    r.ticket_number,
    PAYMENTS[Number(type)] ?? type,
    money(arr(r['payments.sum'])[i]),
    ...PAYMENT_COLUMNS.slice(4).map((c) => arr(r[`payments.${c}`])[i] ?? ''),
  ]);
}

function ticketJson(r: Row) {
  const v203 = readTicket203(r);
  return {
    docSeq: Number(r.doc_seq),
    ticketNumber: r.ticket_number,
    shiftNumber: Number(r.shift_number),
    deviceTime: r.device_text,
    receivedAt: r.received_text,
    operation: OPERATIONS[Number(r.operation)] ?? r.operation,
    total: money(r.total),
    taken: money(r.taken),
    change: money(r.change),
    discount: money(r.discount),
    markup: money(r.markup),
    isOffline: Number(r.is_offline) === 1,
    offlineNumber: Number(r.offline_number),
    printedNumber: Number(r.printed_number),
    operator: { code: Number(r.operator_code), name: r.operator_name },
    customer: { iin: r.customer_iin, email: r.customer_email, phone: r.customer_phone },
    annulled: Number(r.annulled) === 1,
    protocolVersion: v203.protocolVersion,
    domain: v203.domain,
    parentTicket: v203.parentTicket && {
      ...v203.parentTicket,
      total: money(v203.parentTicket.total),
    },
    items: itemRecords(r).map((i, n) => ({
      ...Object.fromEntries(ITEM_COLUMNS.slice(2, -1).map((c, k) => [c, i[k + 2]])),
      excise_stamps: v203.items[n]?.exciseStamps ?? [],
    })),
    payments: paymentRecords(r).map((p, n) => ({
      type: p[2],
      sum: p[3],
      card: v203.payments[n]?.card ?? null,
      mobile: v203.payments[n]?.mobile ?? null,
    })),
  };
}

function reportFigures(report: IZXReport): string[] {
  const t = (m: Parameters<typeof toTiyn>[0]) => toTiyn(m) ?? 0;
  const op = (o: number) => report.ticket_operations?.find((x) => (x.operation ?? 0) === o);
  const out: string[] = [];
  // sell, sell return, buy, buy return
  for (const o of [2, 3, 0, 1])
    out.push(String(op(o)?.tickets_count ?? 0), tenge(t(op(o)?.tickets_sum)));
  const revenue = t(report.revenue?.sum);
  out.push(tenge(t(report.cash_sum)), tenge(report.revenue?.is_negative ? -revenue : revenue));
  return out;
}

function reportRecord(r: Row): unknown[] {
  const device = JSON.parse(String(r.device_report || '{}')) as IZXReport;
  const server = JSON.parse(String(r.server_report || '{}')) as IZXReport;
  return [
    r.doc_seq,
    r.shift_number,
    r.closed_text,
    r.received_text,
    r.is_offline,
    r.printed_number,
    r.operator_code,
    ...reportFigures(server),
    ...reportFigures(device),
    compareReports(device, server).length,
  ];
}

function reportJson(r: Row) {
  return {
    docSeq: Number(r.doc_seq),
    shiftNumber: Number(r.shift_number),
    closedAt: r.closed_text,
    receivedAt: r.received_text,
    isOffline: Number(r.is_offline) === 1,
    printedNumber: Number(r.printed_number),
    operatorCode: Number(r.operator_code),
    serverReport: JSON.parse(String(r.server_report || '{}')) as unknown,
    deviceReport: JSON.parse(String(r.device_report || '{}')) as unknown,
  };
}

export interface ExportOptions {
  db: Db;
  dataDir: string;
  pageRows: number;
  ttlMs: number;
}

/** Runs one export job: writes the archive and returns where it is. */
export async function runExport(
  o: ExportOptions,
  job: Pick<Job<ExportJobData>, 'id' | 'data' | 'updateProgress'>,
): Promise<ExportResult> {
  const d = job.data;
  const reads = new ExportReads(o.db);
  const totals = await reads.totals(d);
  const count = totals.documents;
  const csv = d.format === 'csv';
  const units = d.kind === 'tickets' && csv ? count + totals.items + totals.payments : count;

  let done = 0;
  let reported = -1;
  const advance = async (n: number) => {
    done += n;
    const pct = units ? Math.min(99, Math.floor((done * 100) / units)) : 99;
    if (pct !== reported) {
      reported = pct;
      await job.updateProgress(pct);
    }
  };
  await job.updateProgress(0);

  const pages = (columns: ExportColumns) => reads.pages(d, columns, totals.maxSeq, o.pageRows);

  /** A CSV entry: the header row, then the records each row makes (progress: per record). */
  function csvEntry(
    header: string[],
    columns: ExportColumns,
    records: (r: Row) => unknown[][],
  ): () => Readable {
    return () =>
      Readable.from(
        (async function* () {
          yield Buffer.from(stringifyCsv([header]));
          for await (const page of pages(columns)) {
            const out: unknown[][] = [];
            for (const r of page) out.push(...records(r));
            yield Buffer.from(stringifyCsv(out));
            await advance(out.length);
          }
        })(),
        { objectMode: false },
      );
  }

  /** A JSON entry: one array, an element per row. */
  function jsonEntry(columns: ExportColumns, element: (r: Row) => unknown): () => Readable {
    return () =>
      Readable.from(
        (async function* () {
          yield Buffer.from('[');
          let first = true;
          for await (const page of pages(columns)) {
            const parts = page.map((r) => JSON.stringify(element(r)));
            yield Buffer.from((first ? '\n' : ',\n') + parts.join(',\n'));
            first = false;
            await advance(page.length);
          }
          yield Buffer.from('\n]\n');
        })(),
        { objectMode: false },
      );
  }

  const entries: [string, () => Readable][] =
    d.kind === 'tickets'
      ? csv
        ? [
            ['tickets.csv', csvEntry(TICKET_COLUMNS, 'tickets', (r) => [ticketRecord(r)])],
            ['items.csv', csvEntry(ITEM_COLUMNS, 'items', itemRecords)],
            ['payments.csv', csvEntry(PAYMENT_COLUMNS, 'payments', paymentRecords)],
          ]
        : [['tickets.json', jsonEntry('ticketsWithLines', ticketJson)]]
      : csv
        ? [['reports.csv', csvEntry(REPORT_COLUMNS, 'reports', (r) => [reportRecord(r)])]]
        : [['reports.json', jsonEntry('reports', reportJson)]];

  const dir = exportsDir(o.dataDir);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${job.id}.zip`);
  const part = `${file}.part`;
  const zip = new yazl.ZipFile();
  // An entry's rows come from ClickHouse while the archive is written: a failed query fails the
  // whole export (and its partial file), never the process.
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<never>((_resolve, reject) => (fail = reject));
  failed.catch(() => {});
  zip.on('error', (error: Error) => fail(error));
  for (const [name, open] of entries) {
    // Lazy: an entry's query starts when the writer reaches it, never before.
    zip.addReadStreamLazy(name, { mtime: new Date() }, (cb) => {
      const stream = open();
      stream.on('error', (error) => fail(error));
      cb(null, stream);
    });
  }
  zip.end();
  const output = zip.outputStream as Readable;
  try {
    await Promise.race([pipeline(output, createWriteStream(part)), failed]);
    await rename(part, file);
  } catch (error) {
    output.destroy();
    await rm(part, { force: true });
    throw error;
  }
  const { size } = await stat(file);
  await job.updateProgress(100);
  return {
    file,
    bytes: size,
    rows: count,
    expiresAt: new Date(Date.now() + o.ttlMs).toISOString(),
  };
}

/** Deletes export files (and abandoned partial ones) older than `ttlMs`; returns how many. */
export async function cleanupExports(dataDir: string, ttlMs: number, now = Date.now()) {
  const dir = exportsDir(dataDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (info?.isFile() && now - info.mtimeMs > ttlMs) {
      await rm(path, { force: true });
      removed++;
    }
  }
  return removed;
}
