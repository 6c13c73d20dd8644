// Every KKM command against a real server (embedded ClickHouse, real Redis), over TCP and over
// HTTP POST /kkm, plus one whole session over WebSocket /kkm/ws. Each test checks the answer
// codes, the token rule (rotated only by TICKET, CLOSE_SHIFT, MONEY_PLACEMENT, CANCEL_TICKET)
// and what was stored.
import t from 'tap';
import { startTestServer } from '../helpers/server.js';
import {
  OK,
  VIAS,
  code,
  text,
  device,
  expectedFigures,
  reportFigures,
  rows,
  sendRaw,
  storedCount,
  tiyn,
  wsLink,
} from '../helpers/kkm.js';
import { dateTime, emptyReport, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { KkmDevice, type Answer } from '../../src/sim/kkm-client.js';
import {
  AuthResult,
  Command,
  NomenclatureResult,
  Operation,
  PaymentType,
  ReportType,
  ResultCode,
  type ITicketRequest,
} from '../../src/protocol/schema.js';

const server = await startTestServer();
t.teardown(() => server.stop());

for (const via of VIAS) {
  t.test(`${via}: SYSTEM keeps the token, stores service data, answers reg_info`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);

    const ping = await dev.send(requests.system());
    t.equal(code(ping), OK, 'keep-alive OK');
    t.equal(ping.response.command, Command.COMMAND_SYSTEM, 'same command in the answer');
    t.equal(ping.header.deviceId, kkm.kkmId, 'same ID');
    t.equal(ping.header.reqNum, dev.reqNum, 'same REQNUM');
    t.equal(ping.header.token, kkm.token, 'token unchanged');
    t.equal(ping.response.service?.reg_info?.org?.inn, kkm.bin, 'reg_info in every SYSTEM answer');
    t.same(ping.response.service?.ticket_ads ?? [], [], 'no ads set, none sent');

    const eventsOf = () =>
      rows<{ kind: string; detail: string; at: string }>(
        server,
        `SELECT kind, detail, toString(received_at) AS at FROM device_events
         WHERE kkm_id = {kkm:UInt32} ORDER BY kind`,
        { kkm: kkm.kkmId },
      );
    // Registration already logged its own events (the admin's token issue).
    const seen = new Set((await eventsOf()).map((e) => `${e.kind}@${e.at}`));
    const begin = new Date(Date.now() - 3 * 3.6e6);
    const end = new Date(Date.now() - 60_000);
    const withService = await dev.send({
      command: Command.COMMAND_SYSTEM,
      service: {
        offline_period: { begin_time: dateTime(begin), end_time: dateTime(end) },
        comm_quality: { avg_connect_time: 850, avg_ping: 120, loss_ratio: 3 },
        reg_info: {
          kkm: { serial_number: 'SN-DEVICE', fns_kkm_id: 'FNS-DEVICE' },
          org: { inn: kkm.bin, title: 'ТОО Test' },
        },
      },
    });
    t.equal(code(withService), OK, 'service data accepted');
    t.equal(withService.header.token, kkm.token, 'token still unchanged');
    const events = (await eventsOf()).filter((e) => !seen.has(`${e.kind}@${e.at}`));
    t.same(
      events.map((e) => e.kind),
      ['comm_quality', 'offline_period', 'reg_info'],
      'each part of the service block stored as a device event',
    );
    const period = JSON.parse(events.find((e) => e.kind === 'offline_period')!.detail);
    t.same(
      period,
      {
        begin: wallText(begin),
        end: wallText(end),
      },
      'offline period kept as device wall-clock times',
    );
    t.match(JSON.parse(events.find((e) => e.kind === 'comm_quality')!.detail), {
      avg_connect_time: 850,
      avg_ping: 120,
      loss_ratio: 3,
    });

    const reg = await dev.send({
      command: Command.COMMAND_SYSTEM,
      service: { get_reg_info: true },
    });
    t.equal(code(reg), OK);
    t.equal(reg.header.token, kkm.token, 'token unchanged');
    t.match(reg.response.service?.reg_info, {
      org: { title: 'ТОО Test', inn: kkm.bin, address: 'Almaty', okved: '47111' },
      pos: { title: 'Shop 1', address: 'Abay 1' },
      kkm: { kkm_id: String(kkm.kkmId), point_of_payment_number: String(kkm.pointId) },
    });
    t.same(await storedCount(server, kkm.kkmId), { final: 0, physical: 0 }, 'no document stored');
  });

  t.test(
    `${via}: INFO answers the last Z, then the open shift's X, reg and last doc`,
    async (t) => {
      const kkm = await server.registerKkm();
      const dev = device(server, kkm, via);

      const first = await dev.send(requests.info());
      t.equal(code(first), OK, text(first));
      t.equal(first.response.command, Command.COMMAND_INFO);
      t.equal(first.header.token, kkm.token, 'INFO keeps the token');
      t.equal(first.response.report?.report, ReportType.REPORT_Z, 'no shift yet: a Z report');
      t.equal(first.response.report?.zx_report?.shift_number, 0, 'shift 0');
      t.equal(tiyn(first.response.report?.zx_report?.cash_sum), 0);
      t.match(first.response.service?.reg_info, {
        org: { title: 'ТОО Test', inn: kkm.bin },
        pos: { title: 'Shop 1' },
        kkm: { kkm_id: String(kkm.kkmId) },
      });
      t.equal(first.response.service?.last_document_info?.fr_shift_number, 0);

      const rnd = seededRandom(11);
      const opened = new Date(Date.now() - 2 * 3.6e6);
      const tickets = [
        ticket(rnd, { items: 2, at: opened, printedNumber: 101 }),
        ticket(rnd, {
          items: 3,
          at: new Date(),
          printedNumber: 102,
          payments: [PaymentType.PAYMENT_CASH, PaymentType.PAYMENT_CARD],
        }),
      ];
      for (const tk of tickets) t.equal(code(await dev.send(requests.ticket(tk))), OK);

      const x = await dev.send(requests.info());
      t.equal(code(x), OK);
      t.equal(x.response.report?.report, ReportType.REPORT_X, 'shift open: an X report');
      const zx = x.response.report!.zx_report!;
      t.equal(zx.shift_number, 1, 'the current shift');
      t.same(reportFigures(zx), expectedFigures(tickets), "the current shift's figures");
      t.same(zx.open_shift_time, dateTime(opened), 'opened with its first document');
      t.same(
        x.response.service?.last_document_info,
        { fr_shift_number: 1, printed_document_number: 102 },
        'last document info',
      );
      t.equal(x.response.service?.reg_info?.org?.inn, kkm.bin);

      t.equal(
        code(await dev.send(requests.closeShift(emptyReport(1, new Date()), new Date()))),
        OK,
      );
      const z = await dev.send(requests.info());
      t.equal(z.response.report?.report, ReportType.REPORT_Z, 'shift closed: its Z report');
      t.equal(z.response.report?.zx_report?.shift_number, 1);
      t.same(reportFigures(z.response.report!.zx_report!), expectedFigures(tickets));
    },
  );

  t.test(`${via}: TICKET numbers the receipt, answers a QR URL, rotates the token`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const tk = ticket(seededRandom(21), { items: 4 });
    const answer = await dev.send(requests.ticket(tk));
    const frame = dev.lastFrame!;
    t.equal(code(answer), OK, text(answer));
    t.equal(answer.response.command, Command.COMMAND_TICKET);
    const number = answer.response.ticket?.ticket_number ?? '';
    t.match(number, /^\d+$/, 'a fiscal ticket number');
    t.ok(number.startsWith(String(kkm.kkmId)), 'numbered after the device');
    const url = new URL(Buffer.from(answer.response.ticket!.qr_code!).toString());
    t.match(url.protocol, /^https?:$/, 'the QR code is a URL');
    t.equal(url.searchParams.get('i'), number, 'carrying the ticket number');
    const registered = await server.registry.kkms.getKkm(kkm.kkmId);
    t.equal(url.searchParams.get('f'), registered!.fnsKkmId, "the KKM's KGD number");
    const total = tiyn(tk.amounts!.total);
    t.equal(
      url.searchParams.get('s'),
      `${Math.floor(total / 100)}.${total % 100 < 10 ? '0' : ''}${total % 100}`,
    );
    t.not(answer.header.token, kkm.token, 'a new token');
    t.equal(dev.token, answer.header.token, 'the device adopts it');

    const stale = await sendRaw(dev, requests.system(), { token: kkm.token });
    t.equal(code(stale), ResultCode.RESULT_TYPE_INVALID_TOKEN, 'the old token is refused');
    t.equal(code(await dev.send(requests.system())), OK, 'the new one works');

    const stored = await rows<{ n: string; raw: string; num: string; total: string; seq: number }>(
      server,
      `SELECT count() AS n, any(raw_request) AS raw, any(ticket_number) AS num, any(total) AS total,
        any(doc_seq) AS seq
       FROM documents FINAL WHERE kkm_id = {kkm:UInt32} AND doc_type = 'ticket'`,
      { kkm: kkm.kkmId },
    );
    t.equal(Number(stored[0]!.n), 1, 'stored once');
    t.equal(stored[0]!.raw, frame.toString('base64'), 'with the whole request frame');
    t.equal(stored[0]!.num, number, 'under the number answered');
    t.equal(Number(stored[0]!.total), total, 'total in tiyn');
    t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 });

    const second = await dev.send(requests.ticket(ticket(seededRandom(22), { items: 1 })));
    t.equal(code(second), OK);
    t.not(second.response.ticket?.ticket_number, number, 'the next receipt gets the next number');
    t.not(second.header.token, answer.header.token, 'and the token rotates again');
  });

  t.test(`${via}: CLOSE_SHIFT answers the Z report of the shift's documents`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const rnd = seededRandom(31);
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    const tickets: ITicketRequest[] = [
      ticket(rnd, { items: 3, at: at(60) }),
      ticket(rnd, {
        items: 2,
        at: at(50),
        payments: [PaymentType.PAYMENT_CASH, PaymentType.PAYMENT_CARD],
      }),
      ticket(rnd, { items: 1, at: at(40), payments: [PaymentType.PAYMENT_MOBILE] }),
      ticket(rnd, { items: 1, at: at(30), operation: Operation.OPERATION_SELL_RETURN }),
      ticket(rnd, { items: 2, at: at(20), operation: Operation.OPERATION_BUY }),
    ];
    const placements = [
      { deposit: true, tiyn: 5_000_000 },
      { deposit: false, tiyn: 12_345 },
    ];
    t.equal(code(await dev.send(requests.moneyPlacement(true, 5_000_000, at(70)))), OK);
    for (const tk of tickets) {
      const a = await dev.send(requests.ticket(tk));
      t.equal(code(a), OK, text(a));
    }
    t.equal(code(await dev.send(requests.moneyPlacement(false, 12_345, at(10)))), OK);

    const before = dev.token;
    const close = await dev.send(requests.closeShift(emptyReport(1, at(1)), at(1)));
    t.equal(code(close), OK, text(close));
    t.equal(close.response.command, Command.COMMAND_CLOSE_SHIFT);
    t.equal(close.response.report?.report, ReportType.REPORT_Z, 'a Z report');
    const z = close.response.report!.zx_report!;
    t.equal(z.shift_number, 1);
    const expected = expectedFigures(tickets, placements);
    t.same(reportFigures(z), expected, 'counts, sums, payments, placements and cash add up');
    t.ok(expected.cash > 0 && expected.count[Operation.OPERATION_SELL] === 3, 'a real mix');
    t.same(z.close_shift_time, dateTime(at(1)), 'closed at the device time');
    t.same(z.open_shift_time, dateTime(at(70)), 'opened with its first document');
    const revenue =
      expected.sum[Operation.OPERATION_SELL]! -
      expected.sum[Operation.OPERATION_SELL_RETURN]! -
      expected.sum[Operation.OPERATION_BUY]!;
    t.equal(tiyn(z.revenue?.sum) * (z.revenue?.is_negative ? -1 : 1), revenue, 'revenue');
    t.same(
      z.non_nullable_sums?.map((s) => tiyn(s.sum)),
      expected.sum,
      'non-nullable sums after the first shift',
    );
    t.not(close.header.token, before, 'token rotated');

    const next = await dev.send(requests.ticket(ticket(rnd, { items: 1 })));
    t.equal(code(next), OK);
    const shifts = await rows<{ doc_type: string; shift_number: number }>(
      server,
      `SELECT doc_type, shift_number FROM documents FINAL WHERE kkm_id = {kkm:UInt32}
       ORDER BY doc_seq`,
      { kkm: kkm.kkmId },
    );
    t.same(
      shifts.map((r) => `${r.doc_type}:${r.shift_number}`),
      [
        'money_placement:1',
        ...tickets.map(() => 'ticket:1'),
        'money_placement:1',
        'close_shift:1',
        'ticket:2',
      ],
      'the next ticket opens shift 2',
    );
    const info = await dev.send(requests.info());
    t.equal(info.response.report?.zx_report?.shift_number, 2);
    t.same(
      info.response.report?.zx_report?.start_shift_non_nullable_sums?.map((s) => tiyn(s.sum)),
      expected.sum,
      'shift 2 starts from the sums shift 1 ended with',
    );
    t.equal(
      info.response.report?.zx_report?.ticket_operations?.[Operation.OPERATION_SELL]
        ?.tickets_total_count,
      4,
      'total count runs on',
    );
  });

  t.test(`${via}: REPORT answers X and Z computed by the server`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const asked = new Date(Date.now() - 5 * 60_000);
    const z0 = await dev.send(requests.report(ReportType.REPORT_Z, emptyReport(0, asked), asked));
    t.equal(code(z0), OK, text(z0));
    t.equal(z0.response.command, Command.COMMAND_REPORT);
    t.equal(z0.response.report?.report, ReportType.REPORT_Z);
    t.equal(z0.response.report?.zx_report?.shift_number, 0, 'no Z yet: shift 0');
    t.same(z0.response.report?.zx_report?.date_time, dateTime(asked), "the request's date");
    t.equal(z0.header.token, kkm.token, 'token unchanged');

    const rnd = seededRandom(41);
    const tickets = [
      ticket(rnd, { items: 2 }),
      ticket(rnd, { items: 5, payments: [PaymentType.PAYMENT_CARD] }),
      ticket(rnd, { items: 1, operation: Operation.OPERATION_SELL_RETURN }),
    ];
    for (const tk of tickets) t.equal(code(await dev.send(requests.ticket(tk))), OK);
    const token = dev.token;
    const now = new Date();
    const x = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(1, now), now));
    t.equal(code(x), OK);
    t.equal(x.response.report?.report, ReportType.REPORT_X);
    t.equal(x.response.report?.zx_report?.shift_number, 1);
    t.same(x.response.report?.zx_report?.date_time, dateTime(now));
    t.same(reportFigures(x.response.report!.zx_report!), expectedFigures(tickets), 'X figures');
    t.equal(x.header.token, token, 'token unchanged');

    const zOpen = await dev.send(requests.report(ReportType.REPORT_Z, emptyReport(1, now), now));
    t.equal(zOpen.response.report?.zx_report?.shift_number, 0, 'still no closed shift: empty Z');
    t.equal(zOpen.response.report?.zx_report?.ticket_operations?.[2]?.tickets_count ?? 0, 0);

    const close = await dev.send(requests.closeShift(emptyReport(1, now), now));
    t.equal(code(close), OK);
    const later = new Date(now.getTime() + 60_000);
    const z = await dev.send(requests.report(ReportType.REPORT_Z, emptyReport(1, later), later));
    t.equal(code(z), OK);
    t.equal(z.response.report?.zx_report?.shift_number, 1, 'the last Z report');
    t.same(reportFigures(z.response.report!.zx_report!), expectedFigures(tickets));
    t.same(
      reportFigures(z.response.report!.zx_report!),
      reportFigures(close.response.report!.zx_report!),
      'the same as CLOSE_SHIFT answered',
    );
    t.equal(z.header.token, close.header.token, 'token unchanged');
    const xClosed = await dev.send(
      requests.report(ReportType.REPORT_X, emptyReport(1, later), later),
    );
    t.equal(code(xClosed), OK);
    t.equal(xClosed.response.report?.zx_report?.ticket_operations?.[2]?.tickets_count, 0);
    t.equal(
      xClosed.response.report?.zx_report?.ticket_operations?.[2]?.tickets_total_count,
      2,
      'no shift open: X carries the running totals only',
    );
    t.same(await storedCount(server, kkm.kkmId, 'ticket'), { final: 3, physical: 3 });
    t.equal((await storedCount(server, kkm.kkmId)).final, 4, 'reports store nothing');
  });

  t.test(
    `${via}: MONEY_PLACEMENT deposits, refuses withdrawing more than the drawer`,
    async (t) => {
      const kkm = await server.registerKkm();
      const dev = device(server, kkm, via);
      const now = () => new Date();
      const deposit = await dev.send(requests.moneyPlacement(true, 10_000, now()));
      t.equal(code(deposit), OK, text(deposit));
      t.equal(deposit.response.command, Command.COMMAND_MONEY_PLACEMENT);
      t.not(deposit.header.token, kkm.token, 'token rotated');

      const sale = ticket(seededRandom(51), { items: 2 });
      t.equal(code(await dev.send(requests.ticket(sale))), OK);
      const card = ticket(seededRandom(52), { items: 2, payments: [PaymentType.PAYMENT_CARD] });
      t.equal(code(await dev.send(requests.ticket(card))), OK, 'card money is not in the drawer');
      const drawer = 10_000 + tiyn(sale.amounts!.taken) - tiyn(sale.amounts!.change);

      const token = dev.token;
      const tooMuch = await dev.send(requests.moneyPlacement(false, drawer + 1, now()));
      t.equal(code(tooMuch), ResultCode.RESULT_TYPE_NOT_ENOUGH_CASH, text(tooMuch));
      t.equal(tooMuch.header.token, token, 'a refusal keeps the token');
      const all = await dev.send(requests.moneyPlacement(false, drawer, now()));
      t.equal(code(all), OK, 'the whole drawer may be taken');
      const empty = await dev.send(requests.moneyPlacement(false, 1, now()));
      t.equal(code(empty), ResultCode.RESULT_TYPE_NOT_ENOUGH_CASH, 'then nothing more');
      const offline = await dev.send(requests.moneyPlacement(false, 5_000, now(), true));
      t.equal(code(offline), OK, 'an offline withdrawal is accepted as it comes');

      const x = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(1, now()), now()));
      const mp = x.response.report!.zx_report!.money_placements!;
      t.match(mp[0], { operation: 0, operations_count: 1, operations_total_count: 1 });
      t.equal(tiyn(mp[0]!.operations_sum), 10_000);
      t.match(mp[1], { operation: 1, operations_count: 2, offline_count: 1 });
      t.equal(tiyn(mp[1]!.operations_sum), drawer + 5_000);
      t.same(await storedCount(server, kkm.kkmId, 'money_placement'), { final: 3, physical: 3 });
    },
  );

  t.test(`${via}: CANCEL_TICKET annuls the last ticket, only right after it`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const none = await dev.send(requests.cancelTicket());
    t.equal(code(none), ResultCode.RESULT_TYPE_CANT_CANCEL_TICKET, 'nothing to cancel');

    const rnd = seededRandom(61);
    const kept = ticket(rnd, { items: 1 });
    const annulled = ticket(rnd, { items: 3 });
    t.equal(code(await dev.send(requests.ticket(kept))), OK);
    const sold = await dev.send(requests.ticket(annulled));
    t.equal(code(sold), OK);
    t.equal(code(await dev.send(requests.system())), OK, 'SYSTEM in between');
    t.equal(code(await dev.send(requests.info())), OK, 'INFO in between');
    const token = dev.token;
    const cancel = await dev.send(requests.cancelTicket());
    t.equal(code(cancel), OK, text(cancel));
    t.equal(cancel.response.command, Command.COMMAND_CANCEL_TICKET);
    t.not(cancel.header.token, token, 'token rotated');
    t.equal(
      code(await dev.send(requests.cancelTicket())),
      ResultCode.RESULT_TYPE_CANT_CANCEL_TICKET,
      'a ticket is cancelled once',
    );

    const now = new Date();
    const x = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(1, now), now));
    const zx = x.response.report!.zx_report!;
    t.notOk(zx.annulled_tickets, 'annulled_tickets left empty, as section 3.8 says');
    t.same(reportFigures(zx), expectedFigures([kept]), 'only the kept ticket counts');
    const [cancelRow] = await rows<{ cancelled_seq: number }>(
      server,
      `SELECT cancelled_seq FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND doc_type = 'cancel_ticket'`,
      { kkm: kkm.kkmId },
    );
    const [soldRow] = await rows<{ doc_seq: number }>(
      server,
      `SELECT doc_seq FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND ticket_number = {num:String}`,
      { kkm: kkm.kkmId, num: sold.response.ticket!.ticket_number },
    );
    t.equal(Number(cancelRow?.cancelled_seq), Number(soldRow?.doc_seq), 'stored against it');

    t.equal(code(await dev.send(requests.ticket(ticket(rnd, { items: 1 })))), OK);
    t.equal(code(await dev.send(requests.report(ReportType.REPORT_X, zx, now))), OK);
    const afterReport = await dev.send(requests.cancelTicket());
    t.equal(
      code(afterReport),
      ResultCode.RESULT_TYPE_CANT_CANCEL_TICKET,
      'another command came in between',
    );
    t.equal(code(await dev.send(requests.ticket(ticket(rnd, { items: 1 })))), OK);
    t.equal(code(await dev.send(requests.moneyPlacement(true, 100, now))), OK);
    t.equal(
      code(await dev.send(requests.cancelTicket())),
      ResultCode.RESULT_TYPE_CANT_CANCEL_TICKET,
      'a money placement came in between',
    );
  });

  t.test(`${via}: NOMENCLATURE: no version, the full list, then actual`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const empty = await dev.send(requests.nomenclature(0));
    t.equal(code(empty), OK);
    t.equal(empty.response.command, Command.COMMAND_NOMENCLATURE);
    t.equal(empty.response.nomenclature?.result, NomenclatureResult.RESULT_TYPE_NO_VERSION);
    t.equal(empty.header.token, kkm.token);

    const put = await server.admin('PUT', `/api/v1/admin/orgs/${kkm.orgId}/nomenclature`, {
      elements: [
        { type: 0, title: 'Напитки', id: 1 },
        {
          type: 1,
          title: 'Вода 0.5',
          id: 2,
          parent_group_id: 1,
          item: {
            barcode: '4870001234567',
            purchase_price: 12_000,
            sell_price: 18_050,
            taxes: [{ taxation_type: 101, tax_type: 100, tax_percent: 12_000 }],
            measure_unit_code: '796',
          },
        },
        { type: 1, title: 'Хлеб', id: 3, item: { purchase_price: 9_900, sell_price: 15_000 } },
      ],
    });
    t.equal(put.status, 200, JSON.stringify(put.json));
    const version = put.json.version as number;
    t.ok(version > 0);

    const full = await dev.send(requests.nomenclature(0));
    t.equal(code(full), OK);
    const n = full.response.nomenclature!;
    t.equal(n.result, NomenclatureResult.RESULT_TYPE_OK);
    t.equal(n.version, version);
    t.ok(n.created_time?.date?.year, 'with its creation time');
    t.same(
      (n.elements ?? []).map((e) => [e.type, e.title, Number(e.id)]),
      [
        [0, 'Напитки', 1],
        [1, 'Вода 0.5', 2],
        [1, 'Хлеб', 3],
      ],
      'every element',
    );
    const water = n.elements![1]!;
    t.equal(Number(water.parent_group_id), 1);
    t.equal(tiyn(water.item?.sell_price), 18_050, 'prices as Money');
    t.equal(tiyn(water.item?.purchase_price), 12_000);
    t.equal(water.item?.barcode, '4870001234567');
    t.match(water.item?.taxes, [{ taxation_type: 101, tax_type: 100, tax_percent: 12_000 }]);

    const actual = await dev.send(requests.nomenclature(version));
    t.equal(code(actual), OK);
    t.equal(actual.response.nomenclature?.result, NomenclatureResult.RESULT_TYPE_VERSION_IS_ACTUAL);
    t.equal(actual.response.nomenclature?.elements?.length ?? 0, 0, 'no elements sent again');
    t.equal(actual.header.token, kkm.token, 'token unchanged');
  });

  t.test(`${via}: AUTH checks a cashier's login and password`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const created = await server.admin('POST', `/api/v1/admin/orgs/${kkm.orgId}/cashiers`, {
      code: 7,
      name: 'Айгерим',
      login: 'aigerim',
      password: 'Kassa-2024!',
      roles: [1, 2],
    });
    t.equal(created.status, 201, JSON.stringify(created.json));

    const ok = await dev.send(requests.auth('aigerim', 'Kassa-2024!'));
    t.equal(code(ok), OK);
    t.equal(ok.response.command, Command.COMMAND_AUTH);
    t.match(ok.response.auth, {
      result: AuthResult.RESULT_TYPE_OK,
      operator_code: 7,
      operator_name: 'Айгерим',
    });
    t.same([...(ok.response.auth?.roles ?? [])], [1, 2], 'roles');
    t.equal(ok.header.token, kkm.token, 'token unchanged');

    const wrong = await dev.send(requests.auth('aigerim', 'kassa-2024!'));
    t.equal(code(wrong), OK, 'the request itself is fine');
    t.equal(wrong.response.auth?.result, AuthResult.RESULT_TYPE_INVALID_LOGIN_PASSWORD);
    t.notOk(wrong.response.auth?.operator_code, 'no operator for a failed login');
    const unknown = await dev.send(requests.auth('nobody', 'Kassa-2024!'));
    t.equal(unknown.response.auth?.result, AuthResult.RESULT_TYPE_INVALID_LOGIN_PASSWORD);
    t.equal(unknown.header.token, kkm.token, 'token unchanged');
  });
}

t.test('CANCEL_TICKET after the device state was rebuilt from storage', async (t) => {
  const kkm = await server.registerKkm();
  const dev = device(server, kkm, 'tcp');
  const rnd = seededRandom(91);
  const CANT = ResultCode.RESULT_TYPE_CANT_CANCEL_TICKET;

  // Right after the ticket: still cancellable once Redis has lost the state.
  t.equal(code(await dev.send(requests.ticket(ticket(rnd, { items: 1 })))), OK);
  await server.states.invalidate(kkm.kkmId);
  const cancel = await dev.send(requests.cancelTicket());
  t.equal(code(cancel), OK, `the next request after the ticket: ${text(cancel)}`);

  // A REPORT came in between, then the state was lost: the REPORT left no stored trace, and
  // the ticket must not become cancellable again.
  t.equal(code(await dev.send(requests.ticket(ticket(rnd, { items: 1 })))), OK);
  const now = new Date();
  t.equal(code(await dev.send(requests.report(ReportType.REPORT_X, emptyReport(1, now), now))), OK);
  await server.states.invalidate(kkm.kkmId);
  const late = await dev.send(requests.cancelTicket());
  t.equal(code(late), CANT, `a REPORT came in between: ${text(late)}`);

  t.equal(code(await dev.send(requests.ticket(ticket(rnd, { items: 1 })))), OK);
  t.equal(code(await dev.send(requests.nomenclature(0))), OK);
  await server.states.invalidate(kkm.kkmId);
  t.equal(code(await dev.send(requests.system())), OK);
  t.equal(code(await dev.send(requests.cancelTicket())), CANT, 'nor after SYSTEM on top of it');
  t.same(await storedCount(server, kkm.kkmId, 'cancel_ticket'), { final: 1, physical: 1 });
});

t.test('the offline period of a fiscal request is kept (section 3.10)', async (t) => {
  const kkm = await server.registerKkm();
  const dev = device(server, kkm, 'tcp');
  const kinds = async () =>
    (
      await rows<{ kind: string }>(
        server,
        `SELECT kind FROM device_events WHERE kkm_id = {kkm:UInt32} AND kind != 'token_issued'
         ORDER BY received_at, kind`,
        { kkm: kkm.kkmId },
      )
    ).map((r) => r.kind);
  const begin = new Date(Date.now() - 2 * 3.6e6);
  const end = new Date(Date.now() - 10 * 60_000);
  // The first upload after an outage says when the outage was.
  const upload = await dev.send({
    ...requests.ticket(ticket(seededRandom(81), { items: 2, at: begin, offlineNumber: 1 })),
    service: {
      offline_period: { begin_time: dateTime(begin), end_time: dateTime(end) },
      comm_quality: { avg_connect_time: 2400 },
    },
  });
  t.equal(code(upload), OK, text(upload));
  t.same(await kinds(), ['offline_period'], 'the offline period is stored with the ticket');
  const now = new Date();
  const close = await dev.send({
    ...requests.closeShift(emptyReport(1, now), now),
    service: { reg_info: { kkm: { serial_number: 'SN-1' }, org: { inn: kkm.bin } } },
  });
  t.equal(code(close), OK);
  t.same(
    await kinds(),
    ['offline_period'],
    'reg_info, which comes with every fiscal request, is kept from SYSTEM only',
  );
  const again = await dev.resend();
  t.same(again.bytes, close.bytes, 'a retry answers the same');
  t.equal((await kinds()).length, 1, 'and stores nothing more');
});

t.test('a whole session over WebSocket /kkm/ws', async (t) => {
  const kkm = await server.registerKkm();
  const link = await wsLink(server.httpPort);
  t.teardown(() => link.close());
  const dev = new KkmDevice(kkm.kkmId, kkm.token, link.transport);
  const rnd = seededRandom(71);
  const opened = new Date(Date.now() - 3 * 3.6e6);

  const info = await dev.send(requests.info());
  t.equal(code(info), OK);
  t.equal(info.response.report?.zx_report?.shift_number, 0);
  t.equal(info.response.service?.reg_info?.org?.inn, kkm.bin);

  // The org has cashiers from here on: documents must name one (code 1, as requests.* do).
  const cashier = await server.admin('POST', `/api/v1/admin/orgs/${kkm.orgId}/cashiers`, {
    code: 1,
    name: 'Ерлан',
    login: 'erlan',
    password: 'Erlan-pass1',
    roles: [1],
  });
  t.equal(cashier.status, 201);
  const auth = await dev.send(requests.auth('erlan', 'Erlan-pass1'));
  t.equal(auth.response.auth?.result, AuthResult.RESULT_TYPE_OK);
  t.equal(auth.response.auth?.operator_code, 1);

  const deposit = await dev.send(requests.moneyPlacement(true, 200_000, opened));
  t.equal(code(deposit), OK);
  t.not(deposit.header.token, kkm.token, 'token rotated');

  const tickets = [
    ticket(rnd, { items: 3, at: new Date(opened.getTime() + 60_000), operatorCode: 1 }),
    ticket(rnd, { items: 2, payments: [PaymentType.PAYMENT_CARD], operatorCode: 1 }),
  ];
  const sold: Answer[] = [];
  for (const tk of tickets) {
    const before = dev.token;
    const a = await dev.send(requests.ticket(tk));
    t.equal(code(a), OK, text(a));
    t.not(a.header.token, before, 'token rotated');
    sold.push(a);
  }
  const again = await dev.resend();
  t.same(again.bytes, sold[1]!.bytes, 'a resent ticket gets the same answer, byte for byte');
  t.same(await storedCount(server, kkm.kkmId, 'ticket'), { final: 2, physical: 2 });

  const ping = await dev.send(requests.system());
  t.equal(code(ping), OK);
  t.equal(ping.header.token, dev.token);

  const now = new Date();
  const x = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(1, now), now));
  t.equal(x.response.report?.report, ReportType.REPORT_X);
  const expected = expectedFigures(tickets, [{ deposit: true, tiyn: 200_000 }]);
  t.same(reportFigures(x.response.report!.zx_report!), expected, 'X report');

  const close = await dev.send(requests.closeShift(emptyReport(1, now), now));
  t.equal(code(close), OK);
  t.same(reportFigures(close.response.report!.zx_report!), expected, 'Z report');

  const last = await dev.send(requests.info());
  t.equal(last.response.report?.report, ReportType.REPORT_Z);
  t.equal(last.response.report?.zx_report?.shift_number, 1);
  t.equal(last.header.token, close.header.token, 'INFO keeps the token');

  const nom = await dev.send(requests.nomenclature(0));
  t.equal(nom.response.nomenclature?.result, NomenclatureResult.RESULT_TYPE_NO_VERSION);

  // Not a frame: the server closes the socket.
  link.socket.send('hello', { binary: false });
  t.equal(await link.closed, 1007, 'a text message closes the WebSocket');
});

/** 'YYYY-MM-DD hh:mm:ss' of a device time built with dateTime() (UTC fields). */
function wallText(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}
