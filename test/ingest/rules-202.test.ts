// The 2.0.2 rules issue 13 added, on a real server: withdraw_money on CLOSE_SHIFT (3.6), the
// checksum of the server's reports and an empty annulled_tickets (3.8), reg_info and taxation
// in the service answers (3.1, 3.2, 3.10), receipt ads and the blocked KKM's text (5.4), the
// cashier check (3.11), one payment per type, taken/change with cash, shift number + 1.
import t from 'tap';
import { startTestServer } from '../helpers/server.js';
import { OK, code, text, tiyn } from '../helpers/kkm.js';
import { emptyReport, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { ReportType, ResultCode, type IZXReport } from '../../src/protocol/schema.js';
import { reportChecksum } from '../../src/fiscal/zx-checksum.js';

const server = await startTestServer();
t.teardown(() => server.stop());
const device = (kkm: Awaited<ReturnType<typeof server.registerKkm>>) => server.tcpDevice(kkm);
const INCORRECT = ResultCode.RESULT_TYPE_INCORRECT_REQUEST_DATA;

const withdrawals = (r: IZXReport) => r.money_placements?.find((m) => m.operation === 1);

t.test('CLOSE_SHIFT with withdraw_money withdraws all cash first', async (t) => {
  const dev = device(await server.registerKkm());
  const now = new Date();
  t.equal(code(await dev.send(requests.moneyPlacement(true, 50_000, now))), OK);
  const sale = ticket(seededRandom(3), { items: 2, at: now });
  t.equal(code(await dev.send(requests.ticket(sale))), OK);
  const x = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(1, now), now));
  const cash = tiyn(x.response.report!.zx_report!.cash_sum);
  t.ok(cash > 50_000, 'cash in the drawer before the close');

  const close = await dev.send(
    requests.closeShift(emptyReport(1, now), now, { withdraw_money: true }),
  );
  t.equal(code(close), OK, text(close));
  const z = close.response.report!.zx_report!;
  t.equal(tiyn(z.cash_sum), 0, 'the Z report shows no cash left');
  t.equal(tiyn(withdrawals(z)?.operations_sum), cash, 'recorded as the shift withdrawal');
  t.equal(withdrawals(z)?.operations_count, 1);

  const next = new Date(now.getTime() + 60_000);
  t.equal(code(await dev.send(requests.moneyPlacement(true, 1000, next))), OK);
  const x2 = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(2, next), next));
  const r2 = x2.response.report!.zx_report!;
  t.equal(r2.shift_number, 2);
  t.equal(tiyn(r2.cash_sum), 1000, 'the next shift starts at 0');
  t.equal(withdrawals(r2)?.operations_total_count, 1, 'the withdrawal counts in the totals');

  // Without the flag nothing is withdrawn.
  const close2 = await dev.send(requests.closeShift(emptyReport(2, next), next));
  t.equal(tiyn(close2.response.report!.zx_report!.cash_sum), 1000);
});

t.test('server reports carry a checksum and no annulled_tickets', async (t) => {
  const dev = device(await server.registerKkm());
  const now = new Date();
  t.equal(code(await dev.send(requests.ticket(ticket(seededRandom(4), { at: now })))), OK);
  const x = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(1, now), now));
  const close = await dev.send(requests.closeShift(emptyReport(1, now), now));
  const info = await dev.send(requests.info());
  for (const [name, r] of [
    ['X', x.response.report!.zx_report!],
    ['Z', close.response.report!.zx_report!],
    ['INFO (last Z)', info.response.report!.zx_report!],
  ] as const) {
    t.match(r.checksum, /^[0-9A-F]{64}$/, `${name}: checksum present`);
    t.equal(r.checksum, reportChecksum(r), `${name}: checksum of the report`);
    t.notOk(r.annulled_tickets, `${name}: annulled_tickets empty`);
  }
  const tampered = { ...close.response.report!.zx_report!, shift_number: 99 };
  t.not(reportChecksum(tampered), tampered.checksum, 'another report, another checksum');
});

t.test('reg_info in every SYSTEM answer, taxation in INFO, ads when newer', async (t) => {
  const kkm = await server.registerKkm();
  const dev = device(kkm);
  const ping = await dev.send(requests.system());
  t.equal(ping.response.service?.reg_info?.org?.inn, kkm.bin);
  t.ok(ping.response.service?.reg_info?.kkm?.fns_kkm_id);
  t.notOk((await dev.send(requests.info())).response.service?.binded_taxation, 'none set');

  const tax = await server.admin('PUT', `/api/v1/admin/orgs/${kkm.orgId}/taxation`, {
    taxationType: 101,
    taxes: [{ taxType: 100, percent: 12000 }],
  });
  t.equal(tax.status, 200, JSON.stringify(tax.json));
  const info = await dev.send(requests.info());
  t.same(info.response.service?.binded_taxation, {
    taxation_type: 101,
    taxes: [{ tax_type: 100, percent: 12000 }],
  });
  const asked = await dev.send({ command: 0, service: { get_binded_taxation: true } });
  t.equal(asked.response.service?.binded_taxation?.taxation_type, 101);

  const put = await server.admin('PUT', `/api/v1/admin/orgs/${kkm.orgId}/ads`, {
    ads: [
      { type: 1, text: 'Спасибо за покупку!' },
      { type: 4, text: 'ККМ заблокирована, позвоните в ОФД' },
    ],
  });
  t.equal(put.status, 200, JSON.stringify(put.json));
  const [orgAd, infoAd] = put.json.ads as { type: number; version: number; text: string }[];
  const fresh = await dev.send(requests.system());
  t.same(
    fresh.response.service?.ticket_ads?.map((a) => [a.info?.type, a.text]),
    [
      [1, 'Спасибо за покупку!'],
      [4, 'ККМ заблокирована, позвоните в ОФД'],
    ],
    'a device without ads gets them all',
  );
  const current = await dev.send({
    command: 0,
    service: {
      ticket_ad_infos: [
        { type: 1, version: orgAd!.version },
        { type: 4, version: infoAd!.version - 1 },
      ],
    },
  });
  t.same(
    current.response.service?.ticket_ads?.map((a) => a.info?.type),
    [4],
    'only the ad whose version is newer than the device has',
  );
  const again = await server.admin('PUT', `/api/v1/admin/orgs/${kkm.orgId}/ads`, {
    ads: [{ type: 1, text: 'Спасибо за покупку!' }],
  });
  t.equal(again.json.ads[0].version, orgAd!.version, 'an unchanged text keeps its version');
  const dup = await server.admin('PUT', `/api/v1/admin/orgs/${kkm.orgId}/ads`, {
    ads: [
      { type: 1, text: 'a' },
      { type: 1, text: 'b' },
    ],
  });
  t.equal(dup.status, 400);
  t.equal((await server.admin('PUT', '/api/v1/admin/orgs/999999/ads', { ads: [] })).status, 404);

  await server.admin('PUT', `/api/v1/admin/orgs/${kkm.orgId}/ads`, {
    ads: [{ type: 4, text: 'ККМ заблокирована' }],
  });
  t.equal((await server.admin('POST', `/api/v1/admin/kkms/${kkm.kkmId}/block`)).status, 200);
  await new Promise((r) => setTimeout(r, 2100)); // the ads cache (2 s)
  const blocked = await dev.send(requests.system());
  t.equal(code(blocked), ResultCode.RESULT_TYPE_BLOCKED);
  t.same(
    blocked.response.service?.ticket_ads?.map((a) => [a.info?.type, a.text]),
    [[4, 'ККМ заблокирована']],
    'a blocked KKM is sent the TICKET_AD_INFO text it must print',
  );
});

t.test('an org with cashiers refuses documents of other operators', async (t) => {
  const kkm = await server.registerKkm();
  const cashier = await server.admin('POST', `/api/v1/admin/orgs/${kkm.orgId}/cashiers`, {
    code: 5,
    name: 'Айгерим',
    login: 'aigerim',
    password: 'Aigerim-pass1',
    roles: [1],
  });
  t.equal(cashier.status, 201);
  const dev = device(kkm);
  const now = new Date();
  const stranger = await dev.send(requests.ticket(ticket(seededRandom(8), { at: now })));
  t.equal(code(stranger), ResultCode.RESULT_TYPE_INVALID_LOGIN_PASSWORD, text(stranger));
  const placement = await dev.send(requests.moneyPlacement(true, 100, now));
  t.equal(code(placement), ResultCode.RESULT_TYPE_INVALID_LOGIN_PASSWORD);
  const own = await dev.send(
    requests.ticket(ticket(seededRandom(8), { at: now, operatorCode: 5 })),
  );
  t.equal(code(own), OK, text(own));
  // An org without cashiers takes any operator code.
  const free = device(await server.registerKkm());
  t.equal(code(await free.send(requests.ticket(ticket(seededRandom(8), { at: now })))), OK);
});

t.test('payments: one per type; taken and change with cash; shift number + 1', async (t) => {
  const dev = device(await server.registerKkm());
  const now = new Date();
  const twice = ticket(seededRandom(9), { items: 1, at: now });
  twice.payments = [...twice.payments!, ...twice.payments!].map((p) => ({
    ...p,
    sum: { bills: Number(p.sum!.bills) / 2, coins: 0 },
  }));
  const refused = await dev.send(requests.ticket(twice));
  t.equal(code(refused), INCORRECT, text(refused));
  t.match(text(refused), /payment type 0 twice/);

  const noTaken = ticket(seededRandom(9), { items: 1, at: now });
  delete noTaken.amounts!.taken;
  t.equal(code(await dev.send(requests.ticket(noTaken))), INCORRECT, 'cash without taken');
  const noChange = ticket(seededRandom(9), { items: 1, at: now });
  delete noChange.amounts!.change;
  t.equal(code(await dev.send(requests.ticket(noChange))), INCORRECT, 'cash without change');
  const card = ticket(seededRandom(9), { items: 1, at: now, payments: [1] });
  t.equal(code(await dev.send(requests.ticket(card))), OK, 'card needs neither');

  const fresh = device(await server.registerKkm());
  const first = ticket(seededRandom(9), { items: 1, at: now, shiftNumber: 7 });
  t.equal(code(await fresh.send(requests.ticket(first))), OK, 'a first shift may start anywhere');
  t.equal(code(await fresh.send(requests.closeShift(emptyReport(7, now), now))), OK);
  const skip = ticket(seededRandom(9), { items: 1, at: now, shiftNumber: 9 });
  const skipped = await fresh.send(requests.ticket(skip));
  t.equal(code(skipped), INCORRECT, text(skipped));
  t.match(text(skipped), /not shift 8/);
  const next = ticket(seededRandom(9), { items: 1, at: now, shiftNumber: 8 });
  t.equal(code(await fresh.send(requests.ticket(next))), OK, 'previous + 1');
});
