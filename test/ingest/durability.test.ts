// The durability contract (DESIGN §4): no OK without a commit, 254 while the store fails and a
// clean retry afterwards; under a concurrent fleet, stored = acknowledged exactly and every
// shift's server Z report adds up to what the devices sent.
import t from 'tap';
import { startTestServer } from '../helpers/server.js';
import {
  emptyReport,
  requests,
  seededRandom,
  ticket,
  type Random,
} from '../../src/sim/documents.js';
import {
  Operation,
  PaymentType,
  ResultCode,
  type IZXReport,
  type ITicketRequest,
} from '../../src/protocol/schema.js';
import { fromTiyn, toTiyn } from '../../src/fiscal/money.js';
import { ticketNumber } from '../../src/fiscal/device-state.js';
import { compareReports, OPERATIONS, PAYMENT_TYPES } from '../../src/fiscal/zx-report.js';
import type { Answer, KkmDevice } from '../../src/sim/kkm-client.js';

const server = await startTestServer();
t.teardown(() => server.stop());

const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;
const code = (a: Answer) => a.response.result.result_code;

async function storedTickets(kkmId: number, final: boolean): Promise<string[]> {
  const rows = await server.db.rows<{ ticket_number: string }>(
    `SELECT ticket_number FROM documents ${final ? 'FINAL' : ''}
      WHERE kkm_id = {kkm:UInt32} AND doc_type = 'ticket' ORDER BY doc_seq`,
    { kkm: kkmId },
  );
  return rows.map((r) => r.ticket_number);
}

t.test('ClickHouse failing: 254 at once, the resend succeeds once it is back', async (t) => {
  const random = seededRandom(7);
  const kkms = await Promise.all([1, 2, 3].map(() => server.registerKkm()));
  const devs = kkms.map((k) => server.tcpDevice(k));
  const acked = new Map<number, string[]>(kkms.map((k) => [k.kkmId, []]));
  const ack = (dev: KkmDevice, a: Answer) => {
    if (code(a) === ResultCode.RESULT_TYPE_OK)
      acked.get(dev.id)!.push(a.response.ticket!.ticket_number);
  };
  for (const dev of devs) {
    const a = await dev.send(requests.ticket(ticket(random, { items: 2 })));
    t.equal(code(a), ResultCode.RESULT_TYPE_OK, 'ticket before the outage');
    ack(dev, a);
  }

  const realInsert = server.db.insert;
  let refused = 0;
  server.db.insert = (async () => {
    refused++;
    throw new Error('simulated: ClickHouse is unavailable');
  }) as typeof server.db.insert;
  try {
    const started = performance.now();
    const answers = await Promise.all(
      devs.map((dev) => dev.send(requests.ticket(ticket(random, { items: 4 })))),
    );
    const ms = performance.now() - started;
    t.same(answers.map(code), [UNAVAILABLE, UNAVAILABLE, UNAVAILABLE], 'every ticket gets 254');
    t.ok(ms < 3000, `answered in ${Math.round(ms)} ms, not after a commit timeout`);
    t.ok(refused > 0, 'the writer did try to insert');
    for (const [i, a] of answers.entries()) {
      t.equal(a.header.token, devs[i]!.token, 'the token does not rotate on 254');
    }
    // A resend during the outage is refused again, and nothing is half-written.
    const again = await devs[0]!.resend();
    t.equal(code(again), UNAVAILABLE, 'resend during the outage → 254');
  } finally {
    server.db.insert = realInsert;
  }

  for (const dev of devs) {
    const a = await dev.resend();
    t.equal(code(a), ResultCode.RESULT_TYPE_OK, 'resend after recovery → OK');
    t.equal(a.response.ticket?.ticket_number, ticketNumber(dev.id, 2), 'next number, no gap');
    ack(dev, a);
    t.same((await dev.resend()).bytes, a.bytes, 'and a second resend is identical');
    const next = await dev.send(requests.ticket(ticket(random, { items: 1 })));
    t.equal(code(next), ResultCode.RESULT_TYPE_OK, 'the device goes on');
    ack(dev, next);
  }
  for (const k of kkms) {
    t.same(
      await storedTickets(k.kkmId, true),
      acked.get(k.kkmId),
      `kkm ${k.kkmId}: stored = acked`,
    );
    t.same(await storedTickets(k.kkmId, false), acked.get(k.kkmId), 'and none twice');
  }
});

t.test('a commit that failed after the rows landed heals on the resend', async (t) => {
  const random = seededRandom(8);
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  const first = await dev.send(requests.ticket(ticket(random, { items: 2 })));
  t.equal(code(first), ResultCode.RESULT_TYPE_OK);

  const realInsert = server.db.insert;
  server.db.insert = (async (table, rows) => {
    await realInsert.call(server.db, table, rows);
    throw new Error('simulated: the connection dropped after the insert');
  }) as typeof server.db.insert;
  let lost: Answer;
  try {
    lost = await dev.send(requests.ticket(ticket(random, { items: 3 })));
  } finally {
    server.db.insert = realInsert;
  }
  t.equal(code(lost), UNAVAILABLE, 'the device is told 254');
  t.same(
    await storedTickets(kkm.kkmId, false),
    [ticketNumber(kkm.kkmId, 1), ticketNumber(kkm.kkmId, 2)],
    'yet the row is there',
  );

  const resent = await dev.resend();
  t.equal(code(resent), ResultCode.RESULT_TYPE_OK, 'the resend is answered OK');
  t.equal(
    resent.response.ticket?.ticket_number,
    ticketNumber(kkm.kkmId, 2),
    'with the stored number',
  );
  const next = await dev.send(requests.ticket(ticket(random, { items: 1 })));
  t.equal(code(next), ResultCode.RESULT_TYPE_OK, 'the token of that answer works');
  t.same(
    await storedTickets(kkm.kkmId, false),
    [1, 2, 3].map((n) => ticketNumber(kkm.kkmId, n)),
    'stored once each',
  );
});

// ---------------------------------------------------------------------------------------------

interface OpTotals {
  count: number;
  sum: number;
  change: number;
  payments: number[]; // tiyn by payment type
  paymentCount: number[];
}

interface ShiftTotals {
  ops: OpTotals[];
  placements: { count: number; sum: number }[]; // deposit, withdrawal
  cash: number;
}

const newTotals = (): ShiftTotals => ({
  ops: OPERATIONS.map(() => ({
    count: 0,
    sum: 0,
    change: 0,
    payments: PAYMENT_TYPES.map(() => 0),
    paymentCount: PAYMENT_TYPES.map(() => 0),
  })),
  placements: [
    { count: 0, sum: 0 },
    { count: 0, sum: 0 },
  ],
  cash: 0,
});

const PAYMENT_MIXES = [
  [PaymentType.PAYMENT_CASH],
  [PaymentType.PAYMENT_CARD],
  [PaymentType.PAYMENT_MOBILE],
  [PaymentType.PAYMENT_CASH, PaymentType.PAYMENT_CARD],
  [PaymentType.PAYMENT_CARD, PaymentType.PAYMENT_MOBILE],
  [PaymentType.PAYMENT_CASH, PaymentType.PAYMENT_MOBILE],
];

/** A varied receipt: sales with every payment mix (cash handed over with change), some returns. */
function variedTicket(random: Random, i: number): ITicketRequest {
  const isReturn = i % 17 === 16;
  const tk = ticket(random, {
    operation: isReturn ? Operation.OPERATION_SELL_RETURN : Operation.OPERATION_SELL,
    payments: isReturn ? [PaymentType.PAYMENT_CARD] : PAYMENT_MIXES[i % PAYMENT_MIXES.length],
  });
  const cash = tk.payments!.find((p) => p.type === PaymentType.PAYMENT_CASH);
  if (cash) {
    // The customer hands over the next 1000 tenge up: taken − change = the cash share.
    const cashTiyn = toTiyn(cash.sum)!;
    const taken = Math.ceil((cashTiyn + 1) / 100_000) * 100_000;
    tk.amounts!.taken = fromTiyn(taken);
    tk.amounts!.change = fromTiyn(taken - cashTiyn);
  }
  return tk;
}

function track(totals: ShiftTotals, tk: ITicketRequest): void {
  const op = totals.ops[tk.operation!]!;
  op.count += 1;
  op.sum += toTiyn(tk.amounts!.total)!;
  op.change += tk.amounts!.change ? toTiyn(tk.amounts!.change)! : 0;
  for (const p of tk.payments!) {
    const sum = toTiyn(p.sum)!;
    op.payments[p.type!]! += sum;
    op.paymentCount[p.type!]! += 1;
    if (p.type === PaymentType.PAYMENT_CASH) {
      totals.cash += tk.operation === Operation.OPERATION_SELL ? sum : -sum;
    }
  }
}

/** The device's own Z report from what it tracked. */
function deviceZ(totals: ShiftTotals, shiftNumber: number, at: Date): IZXReport {
  const z = emptyReport(shiftNumber, at);
  z.ticket_operations = OPERATIONS.map((operation) => ({
    operation,
    tickets_total_count: totals.ops[operation]!.count, // the first shift of every device
    tickets_count: totals.ops[operation]!.count,
    tickets_sum: fromTiyn(totals.ops[operation]!.sum),
    payments: PAYMENT_TYPES.map((payment) => ({
      payment,
      sum: fromTiyn(totals.ops[operation]!.payments[payment]!),
      count: totals.ops[operation]!.paymentCount[payment]!,
    })),
  }));
  z.money_placements = totals.placements.map((p, operation) => ({
    operation,
    operations_total_count: p.count,
    operations_count: p.count,
    operations_sum: fromTiyn(p.sum),
  }));
  z.cash_sum = fromTiyn(totals.cash);
  const revenue =
    totals.ops[Operation.OPERATION_SELL]!.sum - totals.ops[Operation.OPERATION_SELL_RETURN]!.sum;
  z.revenue = { sum: fromTiyn(Math.abs(revenue)), is_negative: revenue < 0 };
  return z;
}

/** Sends until answered with something other than 254 (the device keeps the data and retries). */
async function deliver(dev: KkmDevice, request: Parameters<KkmDevice['send']>[0]) {
  let a = await dev.send(request);
  for (let i = 0; code(a) === UNAVAILABLE && i < 50; i++) {
    await new Promise((r) => setTimeout(r, 20));
    a = await dev.resend();
  }
  return a;
}

t.test('10 KKMs × 200 tickets over TCP: stored = acknowledged, Z reports add up', async (t) => {
  const DEVICES = 10;
  const TICKETS = 200;
  const kkms = await Promise.all(Array.from({ length: DEVICES }, () => server.registerKkm()));
  const started = performance.now();
  const results = await Promise.all(
    kkms.map(async (kkm, d) => {
      const random = seededRandom(1000 + d);
      const dev = server.tcpDevice(kkm);
      const totals = newTotals();
      const acked: string[] = [];
      const failures: string[] = [];
      const place = async (deposit: boolean, tiyn: number) => {
        const a = await deliver(dev, requests.moneyPlacement(deposit, tiyn, new Date()));
        if (code(a) !== ResultCode.RESULT_TYPE_OK) {
          failures.push(`placement: ${code(a)} ${a.response.result.result_text}`);
          return;
        }
        const p = totals.placements[deposit ? 0 : 1]!;
        p.count += 1;
        p.sum += tiyn;
        totals.cash += deposit ? tiyn : -tiyn;
      };
      await place(true, 1_000_000 + d * 100 + 1); // the morning float, with tiyn
      for (let i = 0; i < TICKETS; i++) {
        if (i === 80) await place(true, 250_050);
        if (i === 150) await place(false, Math.floor(totals.cash / 3));
        const tk = variedTicket(random, i);
        const a = await deliver(dev, requests.ticket(tk));
        if (code(a) !== ResultCode.RESULT_TYPE_OK) {
          failures.push(`ticket ${i}: ${code(a)} ${a.response.result.result_text}`);
          continue;
        }
        acked.push(a.response.ticket!.ticket_number);
        track(totals, tk);
      }
      const z = deviceZ(totals, 1, new Date());
      const close = await deliver(dev, requests.closeShift(z, new Date()));
      return { kkm, totals, acked, failures, z, close };
    }),
  );
  const ms = performance.now() - started;
  const sent = DEVICES * TICKETS;
  t.comment(
    `${sent} tickets from ${DEVICES} devices in ${Math.round(ms)} ms: ` +
      `${Math.round((sent / ms) * 1000)} tickets/s (incl. placements and shift closes)`,
  );

  for (const { kkm, totals, acked, failures, z, close } of results) {
    t.test(`kkm ${kkm.kkmId}`, async (t) => {
      t.same(failures, [], 'every document answered OK');
      t.equal(acked.length, TICKETS);
      t.same(await storedTickets(kkm.kkmId, true), acked, 'stored ticket numbers = acknowledged');
      t.same(await storedTickets(kkm.kkmId, false), acked, 'none stored twice');

      t.equal(code(close), ResultCode.RESULT_TYPE_OK, 'shift closed');
      const server = close.response.report?.zx_report;
      t.ok(server, 'the answer carries the server Z report');
      if (!server) return;
      t.equal(server.shift_number, 1);
      for (const op of OPERATIONS) {
        const s = server.ticket_operations?.find((x) => x.operation === op);
        const mine = totals.ops[op]!;
        t.equal(s?.tickets_count ?? 0, mine.count, `op ${op}: count`);
        t.equal(toTiyn(s?.tickets_sum) ?? 0, mine.sum, `op ${op}: sum`);
        t.equal(toTiyn(s?.change_sum) ?? 0, mine.change, `op ${op}: change handed back`);
        for (const p of PAYMENT_TYPES) {
          const sp = s?.payments?.find((x) => x.payment === p);
          t.equal(toTiyn(sp?.sum) ?? 0, mine.payments[p], `op ${op} payment ${p}: sum`);
          t.equal(sp?.count ?? 0, mine.paymentCount[p], `op ${op} payment ${p}: count`);
        }
      }
      for (const [i, p] of totals.placements.entries()) {
        const s = server.money_placements?.find((x) => x.operation === i);
        t.equal(s?.operations_count ?? 0, p.count, `placement ${i}: count`);
        t.equal(toTiyn(s?.operations_sum) ?? 0, p.sum, `placement ${i}: sum`);
      }
      t.equal(toTiyn(server.cash_sum), totals.cash, 'cash in the drawer');
      t.same(compareReports(z, server), [], "the device's Z agrees with the server's");
    });
  }
});
