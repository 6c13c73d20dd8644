// The cabinet read routes against a real server: receipts sent over TCP by KKMs of two
// organizations and several points of sale, then the KKM list, receipts by shift and period,
// one receipt, X/Z reports and the analytics summary — and who may see what: the owner sees
// the whole organization, a sub-user only its points, another organization nothing (404).
import t from 'tap';
import { startTestServer } from '../helpers/server.js';
import { rows } from '../helpers/kkm.js';
import { get, ownerToken, sell, subUserToken, wall, type Sent } from '../helpers/reads.js';
import { emptyReport, requests, seededRandom } from '../../src/sim/documents.js';
import { toTiyn } from '../../src/fiscal/money.js';
import {
  Operation,
  PaymentType,
  ReportType,
  ResultCode,
  type IMoney,
} from '../../src/protocol/schema.js';
import { ticketFigures } from '../../src/fiscal/document-rows.js';

const server = await startTestServer();
t.teardown(() => server.stop());

const tiyn = (m: IMoney | null | undefined) => toTiyn(m) ?? NaN;
const OK = ResultCode.RESULT_TYPE_OK;
const random = seededRandom(20260310);
const base = new Date('2026-03-10T09:00:00Z'); // device wall clock 2026-03-10 09:00:00
const h = (hours: number) => new Date(base.getTime() + hours * 3.6e6);

// ---- the fleet: org A with points A, B, C…; org B ----------------------------------------
const a1 = await server.registerKkm(); // org A, point A
const org = { orgId: a1.orgId, bin: a1.bin };
const a2 = await server.registerKkm(org); // org A, point B
const idle = await server.registerKkm(org); // never heard from
const quiet = await server.registerKkm(org); // heard from an hour ago
const blocked = await server.registerKkm(org);
const gone = await server.registerKkm(org);
const b1 = await server.registerKkm(); // org B

const devA1 = server.tcpDevice(a1);
const devA2 = server.tcpDevice(a2);
const devB1 = server.tcpDevice(b1);

// KKM a1, shift 1: a sale, a card+mobile sale with a customer, a return, an offline sale and
// a sale annulled right away; closed with the device's Z equal to ours.
const shift1: Sent[] = [];
shift1.push(await sell(devA1, random, h(0)));
shift1.push(
  await sell(devA1, random, h(3), {
    payments: [PaymentType.PAYMENT_CARD, PaymentType.PAYMENT_MOBILE],
    customerIin: '990101300123',
  }),
);
shift1.push(await sell(devA1, random, h(6), { operation: Operation.OPERATION_SELL_RETURN }));
shift1.push(await sell(devA1, random, h(14), { offlineNumber: 1 }));
shift1.push(await sell(devA1, random, h(17)));
const cancel = await devA1.send(requests.cancelTicket());
if (cancel.response.result.result_code !== OK) throw new Error('cancel refused');
const [t0, t1, t2, t3, t4] = shift1 as [Sent, Sent, Sent, Sent, Sent];
const xBeforeClose = await devA1.send(
  requests.report(ReportType.REPORT_X, emptyReport(1, h(18)), h(18)),
);
const closeA1 = await devA1.send(
  requests.closeShift(xBeforeClose.response.report!.zx_report!, h(18)),
);
if (closeA1.response.result.result_code !== OK) throw new Error('close a1 refused');

// KKM a1, shift 2 (left open): two sales, a deposit, a sale.
const shift2: Sent[] = [];
shift2.push(await sell(devA1, random, h(25)));
shift2.push(await sell(devA1, random, h(26), { payments: [PaymentType.PAYMENT_CARD] }));
const DEPOSIT = 50_000;
await devA1.send(requests.moneyPlacement(true, DEPOSIT, h(26.5)));
shift2.push(await sell(devA1, random, h(27)));

// KKM a2 (point B): three sales, closed with an empty device Z (figures differ).
const a2Sent: Sent[] = [];
for (const at of [1, 2, 4]) a2Sent.push(await sell(devA2, random, h(at)));
const closeA2 = await devA2.send(requests.closeShift(emptyReport(1, h(5)), h(5)));
if (closeA2.response.result.result_code !== OK) throw new Error('close a2 refused');

// KKM b1 (org B): two sales.
for (const at of [0.5, 1.5]) await sell(devB1, random, h(at));

// quiet: a device event an hour ago; blocked and gone: registry states.
const quietAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
await server.db.insert('device_events', [
  {
    kkm_id: quiet.kkmId,
    received_at: quietAt.toISOString().replace('T', ' ').replace('Z', ''),
    kind: 'comm_quality',
    detail: '{}',
  },
]);
for (const [method, url] of [
  ['POST', `/api/v1/admin/kkms/${blocked.kkmId}/block`],
  ['DELETE', `/api/v1/admin/kkms/${gone.kkmId}`],
] as const) {
  const res = await server.admin(method, url);
  if (res.status !== 200) throw new Error(`${method} ${url}: ${JSON.stringify(res.json)}`);
}

const ownerA = await ownerToken(server, a1.bin);
const ownerB = await ownerToken(server, b1.bin);
const ALL = ['transactions', 'reports', 'analytics'];
const subA = await subUserToken(server, a1.orgId, [a1.pointId], ALL);

const tk = (kkm: { kkmId: number }, query = '') =>
  `/api/v1/kkms/${kkm.kkmId}/tickets${query ? `?${query}` : ''}`;

t.test('KKM list: state, last contact and open shift, scoped', async (t) => {
  const list = await get(server, '/api/v1/kkms', ownerA);
  t.equal(list.status, 200);
  const byId = new Map<number, any>(list.json.items.map((k: any) => [k.id, k]));
  t.same(
    [...byId.keys()],
    [a1, a2, idle, quiet, blocked, gone].map((k) => k.kkmId),
    'the owner sees every KKM of the organization, and only those',
  );
  t.match(byId.get(a1.kkmId), {
    pointId: a1.pointId,
    status: 'online',
    lastShiftNumber: 2,
    openShift: { number: 2, openedAt: wall(h(25)) },
  });
  t.notOk('offlineSince' in byId.get(a1.kkmId), 'no offlineSince when online');
  const seen = Date.parse(byId.get(a1.kkmId).lastSeenAt);
  t.ok(Date.now() - seen < 120_000, 'last seen just now');
  t.match(byId.get(a2.kkmId), { status: 'online', openShift: null, lastShiftNumber: 1 });
  t.match(byId.get(idle.kkmId), {
    status: 'offline',
    lastSeenAt: null,
    offlineSince: null,
    openShift: null,
  });
  t.match(byId.get(quiet.kkmId), {
    status: 'offline',
    lastSeenAt: quietAt.toISOString(),
    offlineSince: quietAt.toISOString(),
  });
  t.equal(byId.get(blocked.kkmId).status, 'blocked');
  t.equal(byId.get(gone.kkmId).status, 'deregistered');

  const sub = await get(server, '/api/v1/kkms', subA);
  t.same(
    sub.json.items.map((k: any) => k.id),
    [a1.kkmId],
    'a sub-user sees its point only',
  );
  const other = await get(server, '/api/v1/kkms', ownerB);
  t.same(
    other.json.items.map((k: any) => k.id),
    [b1.kkmId],
    'another organization sees its own',
  );
  const anon = await get(server, '/api/v1/kkms');
  t.equal(anon.status, 401);
  t.same(Object.keys(anon.json).sort(), ['error', 'message']);
});

t.test('receipts by shift: fields, flags and pages', async (t) => {
  const res = await get(server, tk(a1, 'shift=1'), ownerA);
  t.equal(res.status, 200);
  const items = res.json.items as any[];
  t.same(
    items.map((i) => i.ticketNumber),
    shift1.map((s) => s.number),
    'all five, in order',
  );
  items.forEach((item, i) => {
    const sent = shift1[i]!;
    t.equal(item.total, tiyn(sent.request.amounts!.total), `total ${i} in tiyn`);
    t.equal(item.dateTime, wall(sent.at), `device time ${i}`);
    t.equal(item.shiftNumber, 1);
    t.same(
      item.payments,
      sent.request.payments!.map((p) => ({
        type: ['cash', 'card', 'credit', 'tare', 'mobile'][p.type!],
        sum: tiyn(p.sum),
      })),
    );
  });
  t.same(
    items.map((i) => i.operation),
    ['sell', 'sell', 'sell_return', 'sell', 'sell'],
  );
  t.same(
    items.map((i) => i.offline),
    [false, false, false, true, false],
    'the offline ("A") receipt is flagged',
  );
  t.equal(items[3].offlineNumber, 1);
  t.same(
    items.map((i) => i.annulled),
    [false, false, false, false, true],
    'the cancelled receipt is flagged annulled',
  );
  t.equal(res.json.hasMore, false);

  const pages: any[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 5; i++) {
    const page: any = await get(
      server,
      tk(a1, `shift=1&limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      ownerA,
    );
    t.equal(page.status, 200);
    pages.push(page.json);
    cursor = page.json.nextCursor;
    if (!cursor) break;
  }
  t.same(
    pages.map((p) => p.items.length),
    [2, 2, 1, 0],
    'pages of 2, then the rest, then an empty page',
  );
  t.same(
    pages.map((p) => p.hasMore),
    [true, true, false, false],
  );
  t.equal(pages[3].nextCursor, null, 'an empty page ends the walk');
  t.same(
    pages.flatMap((p) => p.items.map((i: any) => i.ticketNumber)),
    shift1.map((s) => s.number),
  );

  const s2 = await get(server, tk(a1, 'shift=2'), ownerA);
  t.same(
    s2.json.items.map((i: any) => i.ticketNumber),
    shift2.map((s) => s.number),
  );
  t.same((await get(server, tk(a1, 'shift=9'), ownerA)).json, {
    items: [],
    nextCursor: null,
    hasMore: false,
  });
});

t.test('receipts by device-time period', async (t) => {
  const numbers = async (query: string) => {
    const res = await get(server, tk(a1, query), ownerA);
    t.equal(res.status, 200, query);
    return res.json.items.map((i: any) => i.ticketNumber);
  };
  t.same(
    await numbers('from=2026-03-10&to=2026-03-10'),
    [t0, t1, t2, t3].map((s) => s.number),
    'a bare date is that whole device day',
  );
  t.same(
    await numbers('from=2026-03-10T12:00:00&to=2026-03-10T15:00:00'),
    [t1.number],
    'from inclusive, to exclusive',
  );
  t.same(
    await numbers('from=2026-03-10T12:00&to=2026-03-10T15:01'),
    [t1, t2].map((s) => s.number),
    'minutes without seconds',
  );
  t.same(
    await numbers('from=2026-03-11&to=2026-03-11'),
    [t4, ...shift2].map((s) => s.number),
    'across shifts',
  );
  t.same(await numbers('from=2026-03-12T00:00:00&to=2026-03-20'), []);
});

t.test('receipt listing input is validated', async (t) => {
  const bad = async (query: string, pattern: RegExp) => {
    const res = await get(server, tk(a1, query), ownerA);
    t.equal(res.status, 400, query);
    t.same(Object.keys(res.json).sort(), ['error', 'message']);
    t.match(res.json.message, pattern, query);
  };
  await bad('', /shift, or from and to/);
  await bad('shift=1&from=2026-03-10&to=2026-03-11', /not both/);
  await bad('from=2026-03-10', /to is required/);
  await bad('to=2026-03-10', /from is required/);
  await bad('from=2026-02-31&to=2026-03-01', /from is not a valid date/);
  await bad('from=2026-03-10T10:00:00Z&to=2026-03-11', /from must match pattern/);
  await bad('from=2026-03-11&to=2026-03-10', /to must be after from/);
  await bad('shift=abc', /shift must be integer/);
  await bad('shift=0', /shift must be >= 1/);
  await bad('shift=1&limit=0', /limit must be >= 1/);
  await bad('shift=1&limit=1001', /limit must be <= 1000/);
  await bad('shift=1&color=red', /color is not allowed/);
  await bad('shift=1&cursor=garbage', /cursor/);
  const otherCursor = (await get(server, tk(a2, 'shift=1&limit=1'), ownerA)).json.nextCursor;
  await bad(`shift=1&cursor=${otherCursor}`, /cursor is not a cursor of this KKM/);
  const param = await get(server, '/api/v1/kkms/abc/tickets?shift=1', ownerA);
  t.equal(param.status, 400);
  t.match(param.json.message, /kkmId must be integer/);
});

t.test('one whole receipt', async (t) => {
  const res = await get(server, `${tk(a1)}/${t1.number}`, ownerA);
  t.equal(res.status, 200);
  const r = res.json;
  const sent = t1.request;
  t.match(r, {
    kkmId: a1.kkmId,
    ticketNumber: t1.number,
    dateTime: wall(t1.at),
    shiftNumber: 1,
    operation: 'sell',
    total: tiyn(sent.amounts!.total),
    offline: false,
    annulled: false,
    cashier: { code: 1, name: 'Cashier' },
    customer: { iinOrBin: '990101300123', email: '', phone: '' },
    qrUrl: t1.qr,
  });
  t.ok(t1.qr.length > 10, 'the device got a QR URL');
  t.same(
    r.items,
    sent.items!.map((i) => {
      const c = i.commodity!;
      return {
        type: 'commodity',
        name: c.name,
        section: c.section_code,
        quantity: c.quantity,
        price: tiyn(c.price),
        sum: tiyn(c.sum),
        code: 0,
        barcode: '',
        unit: c.measure_unit_code,
        taxPercent: c.taxes?.[0]?.percent ?? 0,
        taxSum: c.taxes?.[0] ? tiyn(c.taxes[0].sum) : 0,
        // A 2.0.2 receipt: the 2.0.3 parts empty.
        ntin: '',
        exciseStamps: [],
        measureUnitCode: c.measure_unit_code,
      };
    }),
    'every line, money in tiyn, quantity in thousandths',
  );
  t.same(r.payments, [
    { type: 'card', sum: tiyn(sent.payments![0]!.sum), card: null, mobile: null },
    { type: 'mobile', sum: tiyn(sent.payments![1]!.sum), card: null, mobile: null },
  ]);
  t.same(r.amounts, {
    total: tiyn(sent.amounts!.total),
    taken: 0,
    change: 0,
    discount: 0,
    markup: 0,
  });
  const figures = ticketFigures(sent);
  t.same(
    r.taxes,
    (figures['taxes.type'] as number[]).map((type, i) => ({
      type,
      percent: (figures['taxes.percent'] as number[])[i],
      sum: (figures['taxes.sum'] as number[])[i],
      turnover: (figures['taxes.turnover'] as number[])[i],
    })),
  );
  const cash = (await get(server, `${tk(a1)}/${t0.number}`, ownerA)).json;
  t.equal(cash.amounts.taken, tiyn(t0.request.amounts!.taken), 'cash taken');
  t.equal(cash.amounts.change, tiyn(t0.request.amounts!.change), 'change');
  t.equal((await get(server, `${tk(a1)}/${t3.number}`, ownerA)).json.offline, true);
  t.equal((await get(server, `${tk(a1)}/${t4.number}`, ownerA)).json.annulled, true);

  const missing = await get(server, `${tk(a1)}/${a1.kkmId}0000009999`, ownerA);
  t.equal(missing.status, 404);
  t.same(Object.keys(missing.json).sort(), ['error', 'message']);
  const foreign = await get(server, `${tk(a1)}/${a2Sent[0]!.number}`, ownerA);
  t.equal(foreign.status, 404, "another KKM's receipt number is not found under this KKM");
  t.equal((await get(server, `${tk(a1)}/12ab`, ownerA)).status, 400);
});

t.test('Z reports: device and server figures, match and differences', async (t) => {
  const z1 = await get(server, `/api/v1/kkms/${a1.kkmId}/reports?type=z&shift=1`, ownerA);
  t.equal(z1.status, 200);
  t.equal(z1.json.type, 'z');
  t.equal(z1.json.items.length, 1);
  const r = z1.json.items[0];
  t.match(r, {
    shiftNumber: 1,
    openedAt: wall(h(0)),
    closedAt: wall(h(18)),
    offline: false,
    match: true,
    differences: [],
  });
  const sells = [t0, t1, t3]; // t4 was annulled
  const sellSum = sells.reduce((a, s) => a + tiyn(s.request.amounts!.total), 0);
  const sellOp = (rep: any) => rep.ticket_operations.find((o: any) => o.operation === 2);
  for (const side of ['device', 'server'] as const) {
    t.equal(sellOp(r[side]).tickets_count, 3, `${side}: sales count`);
    t.equal(sellOp(r[side]).tickets_sum, sellSum, `${side}: sales sum in integer tiyn`);
    t.type(r[side].cash_sum, 'number', `${side}: money is a number of tiyn`);
  }
  t.notOk(r.server.annulled_tickets, 'annulled_tickets left empty (section 3.8)');

  const z2 = await get(server, `/api/v1/kkms/${a2.kkmId}/reports?type=z&shift=1`, ownerA);
  const d = z2.json.items[0];
  t.equal(d.match, false, 'an empty device Z differs');
  t.ok(d.differences.length > 0);
  t.match(d.differences, [
    { field: 'ticket_operations[2].tickets_count', device: 0, server: a2Sent.length },
  ]);
  t.equal(sellOp(d.device)?.tickets_count ?? 0, 0);

  const byPeriod = await get(
    server,
    `/api/v1/kkms/${a1.kkmId}/reports?type=z&from=2026-03-10&to=2026-03-11`,
    ownerA,
  );
  t.same(
    byPeriod.json.items.map((i: any) => i.shiftNumber),
    [1],
    'by the device time of the closure',
  );
  const none = await get(server, `/api/v1/kkms/${a1.kkmId}/reports?type=z&shift=2`, ownerA);
  t.same(none.json.items, [], 'shift 2 is not closed');
  const early = await get(
    server,
    `/api/v1/kkms/${a1.kkmId}/reports?type=z&from=2026-03-10&to=2026-03-10T12:00`,
    ownerA,
  );
  t.same(early.json.items, []);
});

t.test('X report of the open shift', async (t) => {
  const x = await get(server, `/api/v1/kkms/${a1.kkmId}/reports?type=x`, ownerA);
  t.equal(x.status, 200);
  t.equal(x.json.type, 'x');
  t.equal(x.json.items.length, 1);
  const r = x.json.items[0];
  t.match(r, {
    shiftNumber: 2,
    openedAt: wall(h(25)),
    closedAt: null,
    device: null,
    match: null,
  });
  const sellOp = r.server.ticket_operations.find((o: any) => o.operation === 2);
  t.equal(sellOp.tickets_count, 3);
  t.equal(
    sellOp.tickets_sum,
    shift2.reduce((a, s) => a + tiyn(s.request.amounts!.total), 0),
  );
  t.equal(sellOp.tickets_total_count, 6, 'running count includes shift 1');
  t.equal(r.server.money_placements[0].operations_sum, DEPOSIT);
  t.equal(r.server.shift_number, 2);

  const closed = await get(server, `/api/v1/kkms/${a2.kkmId}/reports?type=x`, ownerA);
  t.same(closed.json.items, [], 'no open shift, no X report');

  for (const q of ['type=x&shift=2', 'shift=1', 'type=y', 'type=z']) {
    const res = await get(server, `/api/v1/kkms/${a1.kkmId}/reports?${q}`, ownerA);
    t.equal(res.status, 400, q);
    t.same(Object.keys(res.json).sort(), ['error', 'message']);
  }
});

t.test('analytics summary', async (t) => {
  const url = (ids: number[], from: string, to: string) =>
    `/api/v1/analytics/summary?kkmIds=${ids.join(',')}&from=${from}&to=${to}`;
  const res = await get(server, url([a1.kkmId, a2.kkmId], '2026-03-10', '2026-03-12'), ownerA);
  t.equal(res.status, 200);
  const s = res.json;
  t.equal(s.from, '2026-03-10T00:00:00');
  t.equal(s.to, '2026-03-13T00:00:00', 'a bare end date includes its day');
  t.same(s.kkmIds, [a1.kkmId, a2.kkmId]);

  // The expected figures, from what the devices sent (annulled t4 left out).
  const counted = [
    ...[t0, t1, t2, t3, ...shift2].map((x) => ({ kkm: a1.kkmId, x })),
    ...a2Sent.map((x) => ({ kkm: a2.kkmId, x })),
  ];
  const OPS = ['buy', 'buy_return', 'sell', 'sell_return'];
  const PAYS = ['cash', 'card', 'credit', 'tare', 'mobile'];
  const expect = (list: typeof counted) => {
    const ops = OPS.map(() => ({ receipts: 0, sum: 0 }));
    const pay = new Map<string, { count: number; sum: number }>();
    const tax = new Map<string, { sum: number; turnover: number; count: number }>();
    for (const { x } of list) {
      const op = x.request.operation;
      ops[op]!.receipts += 1;
      ops[op]!.sum += tiyn(x.request.amounts!.total);
      for (const p of x.request.payments!) {
        const key = `${OPS[op]}:${PAYS[p.type!]}`;
        const a = pay.get(key) ?? { count: 0, sum: 0 };
        a.count += 1;
        a.sum += tiyn(p.sum);
        pay.set(key, a);
      }
      const f = ticketFigures(x.request);
      (f['taxes.type'] as number[]).forEach((type, i) => {
        const key = `${OPS[op]}:${type}:${(f['taxes.percent'] as number[])[i]}`;
        const a = tax.get(key) ?? { sum: 0, turnover: 0, count: 0 };
        a.sum += (f['taxes.sum'] as number[])[i]!;
        a.turnover += (f['taxes.turnover'] as number[])[i]!;
        a.count += 1;
        tax.set(key, a);
      });
    }
    return {
      receipts: list.length,
      averageReceipt: ops[2]!.receipts ? Math.floor(ops[2]!.sum / ops[2]!.receipts) : 0,
      revenue: ops[2]!.sum - ops[3]!.sum - (ops[0]!.sum - ops[1]!.sum),
      byOperation: ops.map((o, i) => ({
        operation: OPS[i],
        receipts: o.receipts,
        sum: o.sum,
        average: o.receipts ? Math.floor(o.sum / o.receipts) : 0,
      })),
      pay,
      tax,
    };
  };
  const check = (got: any, list: typeof counted, what: string) => {
    const e = expect(list);
    t.equal(got.receipts, e.receipts, `${what}: receipts`);
    t.equal(got.averageReceipt, e.averageReceipt, `${what}: average receipt`);
    t.equal(got.revenue, e.revenue, `${what}: revenue`);
    t.same(got.byOperation, e.byOperation, `${what}: by operation`);
    t.same(
      new Map(
        got.byPayment.map((p: any) => [`${p.operation}:${p.type}`, { count: p.count, sum: p.sum }]),
      ),
      e.pay,
      `${what}: by payment`,
    );
    t.same(
      new Map(
        got.byTax.map((x: any) => [
          `${x.operation}:${x.taxType}:${x.percent}`,
          { sum: x.sum, turnover: x.turnover, count: x.count },
        ]),
      ),
      e.tax,
      `${what}: by tax`,
    );
  };
  check(s.total, counted, 'total');
  t.same(
    s.days.map((d: any) => d.date),
    ['2026-03-10', '2026-03-11', '2026-03-12'],
    'every day of the period',
  );
  const day = (d: string) => counted.filter(({ x }) => wall(x.at).startsWith(d));
  check(s.days[0], day('2026-03-10'), '10 March');
  check(s.days[1], day('2026-03-11'), '11 March');
  check(s.days[2], [], '12 March');
  t.same(
    s.kkms.map((k: any) => k.kkmId),
    [a1.kkmId, a2.kkmId],
  );
  check(
    s.kkms[0],
    counted.filter((c) => c.kkm === a1.kkmId),
    'kkm a1',
  );
  check(
    s.kkms[1],
    counted.filter((c) => c.kkm === a2.kkmId),
    'kkm a2',
  );

  const one = await get(server, url([a1.kkmId], '2026-03-10T09:00', '2026-03-10T12:00'), ownerA);
  t.equal(one.status, 200);
  t.equal(one.json.total.receipts, 1, 'a period by the time of day');
});

t.test('analytics limits: 31 days for one KKM, 7 days for 2–20, at most 20', async (t) => {
  const url = (ids: number[], from: string, to: string) =>
    `/api/v1/analytics/summary?kkmIds=${ids.join(',')}&from=${from}&to=${to}`;
  const status = async (u: string) => (await get(server, u, ownerA)).status;
  t.equal(await status(url([a1.kkmId], '2026-03-01', '2026-03-31')), 200, '31 days, 1 KKM');
  const long = await get(server, url([a1.kkmId], '2026-03-01', '2026-04-01'), ownerA);
  t.equal(long.status, 400, '32 days, 1 KKM');
  t.match(long.json, { error: 'Bad Request', message: /at most 31 days/ });
  t.equal(await status(url([a1.kkmId, a2.kkmId], '2026-03-01', '2026-03-07')), 200, '7 days');
  const wide = await get(server, url([a1.kkmId, a2.kkmId], '2026-03-01', '2026-03-08'), ownerA);
  t.equal(wide.status, 400, '8 days, 2 KKMs');
  t.match(wide.json.message, /2–20 KKMs is at most 7 days/);
  const ids21 = Array.from({ length: 21 }, (_, i) => i + 1);
  const many = await get(server, url(ids21, '2026-03-01', '2026-03-01'), ownerA);
  t.equal(many.status, 400, '21 KKMs');
  t.match(many.json.message, /at most 20 KKMs/);
  const dup = await get(server, url([a1.kkmId, a1.kkmId], '2026-03-01', '2026-03-20'), ownerA);
  t.equal(dup.status, 200, 'a repeated id counts once');
  for (const q of ['kkmIds=abc&from=2026-03-01&to=2026-03-02', 'kkmIds=1&to=2026-03-02']) {
    const res = await get(server, `/api/v1/analytics/summary?${q}`, ownerA);
    t.equal(res.status, 400, q);
  }
});

t.test('scope: other points and other organizations get 404 and no data', async (t) => {
  const urls = (k: { kkmId: number }, number: string) => [
    tk(k, 'shift=1'),
    tk(k, 'from=2026-03-10&to=2026-03-11'),
    `${tk(k)}/${number}`,
    `/api/v1/kkms/${k.kkmId}/reports?type=z&shift=1`,
    `/api/v1/kkms/${k.kkmId}/reports?type=x`,
    `/api/v1/analytics/summary?kkmIds=${k.kkmId}&from=2026-03-10&to=2026-03-11`,
  ];
  const notFound = async (url: string, token: string, who: string) => {
    const res = await get(server, url, token);
    t.equal(res.status, 404, `${who}: ${url}`);
    t.same(Object.keys(res.json).sort(), ['error', 'message'], 'nothing but the error');
    t.notMatch(JSON.stringify(res.json), /ticket_operations|items|total/);
  };
  for (const url of urls(a2, a2Sent[0]!.number))
    await notFound(url, subA, 'point B for a sub-user');
  for (const url of urls(a1, t0.number)) await notFound(url, ownerB, 'org A for org B');
  for (const url of urls({ kkmId: 999_999 }, '1')) await notFound(url, ownerA, 'unknown KKM');
  const mixed = await get(
    server,
    `/api/v1/analytics/summary?kkmIds=${a1.kkmId},${b1.kkmId}&from=2026-03-10&to=2026-03-11`,
    ownerA,
  );
  t.equal(mixed.status, 404, 'one KKM out of scope spoils the whole summary');

  // The sub-user's own point works.
  t.equal((await get(server, tk(a1, 'shift=1'), subA)).status, 200);
  t.equal((await get(server, `${tk(a1)}/${t0.number}`, subA)).status, 200);
  t.equal((await get(server, `/api/v1/kkms/${a1.kkmId}/reports?type=z&shift=1`, subA)).status, 200);
  const own = `/api/v1/analytics/summary?kkmIds=${a1.kkmId}&from=2026-03-10&to=2026-03-11`;
  t.equal((await get(server, own, subA)).status, 200);
});

t.test('permissions: transactions, reports, analytics', async (t) => {
  const onlyTx = await subUserToken(server, a1.orgId, [a1.pointId], ['transactions']);
  t.equal((await get(server, tk(a1, 'shift=1'), onlyTx)).status, 200);
  const reports = await get(server, `/api/v1/kkms/${a1.kkmId}/reports?type=x`, onlyTx);
  t.equal(reports.status, 403);
  t.match(reports.json, { error: 'Forbidden', message: /"reports"/ });
  const analytics = await get(
    server,
    `/api/v1/analytics/summary?kkmIds=${a1.kkmId}&from=2026-03-10&to=2026-03-11`,
    onlyTx,
  );
  t.equal(analytics.status, 403);
  const onlyReports = await subUserToken(server, a1.orgId, [a1.pointId], ['reports']);
  t.equal((await get(server, tk(a1, 'shift=1'), onlyReports)).status, 403);
  t.equal((await get(server, `${tk(a1)}/${t0.number}`, onlyReports)).status, 403);
  t.equal((await get(server, `/api/v1/kkms/${a1.kkmId}/reports?type=x`, onlyReports)).status, 200);
  t.equal((await get(server, '/api/v1/kkms', onlyReports)).status, 200, 'the list needs none');
  t.equal((await get(server, tk(a1, 'shift=1'), 'not-a-session')).status, 401);
});

t.test('the OpenAPI document describes the read routes', async (t) => {
  const doc = (await get(server, '/api/v1/openapi.json')).json;
  const routes: [string, string][] = [
    ['/api/v1/kkms', 'kkms'],
    ['/api/v1/kkms/{kkmId}/tickets', 'transactions'],
    ['/api/v1/kkms/{kkmId}/tickets/{ticketNumber}', 'transactions'],
    ['/api/v1/kkms/{kkmId}/reports', 'reports'],
    ['/api/v1/analytics/summary', 'analytics'],
  ];
  for (const [path, tag] of routes) {
    const op = doc.paths[path]?.get;
    t.ok(op, `${path} documented`);
    t.same(op?.tags, [tag]);
    t.type(op?.summary, 'string');
    t.ok(op?.responses?.['200'], `${path}: 200 described`);
  }
  const params = doc.paths['/api/v1/kkms/{kkmId}/tickets'].get.parameters.map((p: any) => p.name);
  t.same(params.sort(), ['cursor', 'from', 'kkmId', 'limit', 'shift', 'to']);
});

t.test('what was stored matches what the API listed', async (t) => {
  const stored = await rows<{ n: string }>(
    server,
    `SELECT ticket_number AS n FROM documents FINAL
     WHERE kkm_id = {kkm:UInt32} AND doc_type = 'ticket' ORDER BY doc_seq`,
    { kkm: a1.kkmId },
  );
  t.same(
    stored.map((r) => r.n),
    [...shift1, ...shift2].map((s) => s.number),
  );
});
