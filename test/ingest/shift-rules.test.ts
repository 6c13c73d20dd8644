// Shift rules against a real server, over TCP and HTTP POST /kkm: the 24-hour open-shift limit
// (11) and the offline uploads it does not apply to, growing printed_document_number and the
// open fr_shift_number (13), and a buyer who is the seller (17). Device times are explicit.
import t from 'tap';
import { startTestServer } from '../helpers/server.js';
import {
  OK,
  VIAS,
  code,
  text,
  device,
  expectedFigures,
  later,
  reportFigures,
  rows,
  sendRaw,
  storedCount,
} from '../helpers/kkm.js';
import { dateTime, emptyReport, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import {
  Command,
  Operation,
  ReportType,
  ResultCode,
  type ITicketRequest,
} from '../../src/protocol/schema.js';

const server = await startTestServer();
t.teardown(() => server.stop());

const rnd = seededRandom(777);

for (const via of VIAS) {
  t.test(
    `${via}: a shift open over 24 h → 11 online, offline uploads still accepted`,
    async (t) => {
      const kkm = await server.registerKkm();
      const dev = device(server, kkm, via);
      // The shift opened 30 hours ago by the device's clock.
      const opened = new Date(Math.floor(Date.now() / 1000) * 1000 - 30 * 3.6e6);
      const accepted: ITicketRequest[] = [];
      const sell = async (at: Date, extra: Parameters<typeof ticket>[1] = {}) => {
        const tk = ticket(rnd, { items: 2, at, ...extra });
        const a = await dev.send(requests.ticket(tk));
        if (code(a) === OK) accepted.push(tk);
        return a;
      };
      t.equal(code(await sell(opened)), OK, 'the first ticket opens the shift');
      t.equal(code(await sell(later(opened, 23))), OK, '23 h later');
      t.equal(code(await sell(later(opened, 24))), OK, 'exactly 24 h later');

      const token = dev.token;
      const late = await sell(new Date(later(opened, 24).getTime() + 1000));
      t.equal(code(late), ResultCode.RESULT_TYPE_OPEN_SHIFT_TIMEOUT_EXPIRED, text(late));
      t.equal(late.header.token, token, 'no new token');
      const lateMoney = await dev.send(requests.moneyPlacement(true, 1000, later(opened, 25)));
      t.equal(code(lateMoney), ResultCode.RESULT_TYPE_OPEN_SHIFT_TIMEOUT_EXPIRED, 'deposits too');
      t.same(await storedCount(server, kkm.kkmId), { final: 3, physical: 3 }, 'neither stored');
      t.equal(code(await dev.send(requests.system())), OK, 'SYSTEM still answered');
      t.equal(code(await dev.send(requests.info())), OK, 'INFO still answered');

      // The link was down; the device uploads what it kept, in order.
      const outage = await dev.send({
        command: Command.COMMAND_SYSTEM,
        service: {
          offline_period: {
            begin_time: dateTime(later(opened, 24.5)),
            end_time: dateTime(later(opened, 26)),
          },
        },
      });
      t.equal(code(outage), OK);
      const offline = await sell(later(opened, 25), { offlineNumber: 1 });
      t.equal(code(offline), OK, `an offline ticket past the limit: ${text(offline)}`);
      t.ok(offline.response.ticket?.ticket_number, 'numbered');
      t.not(offline.header.token, token, 'token rotated');
      const offlineCash = await dev.send(
        requests.moneyPlacement(true, 50_000, later(opened, 25.5), true),
      );
      t.equal(code(offlineCash), OK, 'an offline deposit past the limit');
      const online = await sell(later(opened, 26));
      t.equal(
        code(online),
        ResultCode.RESULT_TYPE_OPEN_SHIFT_TIMEOUT_EXPIRED,
        'online documents stay refused until the shift is closed',
      );
      const [row] = await rows<{ is_offline: number; offline_number: number }>(
        server,
        `SELECT is_offline, offline_number FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND ticket_number = {num:String}`,
        { kkm: kkm.kkmId, num: offline.response.ticket!.ticket_number },
      );
      t.same(row, { is_offline: 1, offline_number: 1 }, 'stored as an offline upload');

      const close = await dev.send(
        requests.closeShift(emptyReport(1, later(opened, 26)), later(opened, 26)),
      );
      t.equal(code(close), OK, `CLOSE_SHIFT gets the device out of it: ${text(close)}`);
      const z = close.response.report!.zx_report!;
      t.equal(z.shift_number, 1);
      t.same(
        reportFigures(z),
        expectedFigures(accepted, [{ deposit: true, tiyn: 50_000 }]),
        'the Z report counts what was accepted',
      );
      t.equal(z.ticket_operations?.[Operation.OPERATION_SELL]?.offline_count, 1, 'one offline');
      t.equal(z.money_placements?.[0]?.offline_count, 1);

      const fresh = await sell(new Date());
      t.equal(code(fresh), OK, `a new shift: ${text(fresh)}`);
      const info = await dev.send(requests.info());
      t.equal(info.response.report?.zx_report?.shift_number, 2, 'shift 2 is open');
    },
  );

  t.test(
    `${via}: printed_document_number must grow, fr_shift_number must match → 13`,
    async (t) => {
      const kkm = await server.registerKkm();
      const dev = device(server, kkm, via);
      const now = new Date();
      const tk = (shiftNumber: number | undefined, printedNumber: number | undefined) =>
        dev.send(requests.ticket(ticket(rnd, { items: 1, at: now, shiftNumber, printedNumber })));
      const INCORRECT = ResultCode.RESULT_TYPE_INCORRECT_REQUEST_DATA;

      t.equal(code(await tk(1, 10)), OK, 'shift 1, printed 10');
      const token = dev.token;
      const same = await tk(1, 10);
      t.equal(code(same), INCORRECT, `printed 10 again: ${text(same)}`);
      t.equal(same.header.token, token, 'no new token');
      t.equal(code(await tk(1, 9)), INCORRECT, 'printed 9 after 10');
      const wrongShift = await tk(2, 11);
      t.equal(code(wrongShift), INCORRECT, `shift 2 while 1 is open: ${text(wrongShift)}`);
      t.equal(code(await tk(1, 11)), OK, 'shift 1, printed 11');
      t.equal(code(await tk(undefined, undefined)), OK, 'neither sent: the server numbers it');

      const mp = (printed: number, shift?: number) =>
        dev.send({
          command: Command.COMMAND_MONEY_PLACEMENT,
          money_placement: {
            ...requests.moneyPlacement(true, 10_000, now).money_placement!,
            printed_document_number: printed,
            ...(shift ? { fr_shift_number: shift } : {}),
          },
        });
      t.equal(code(await mp(11)), INCORRECT, 'a money placement with an old printed number');
      t.equal(code(await mp(12, 3)), INCORRECT, 'a money placement in another shift');
      t.equal(code(await mp(12, 1)), OK);

      const close = (printed: number, shift: number) =>
        dev.send(
          requests.closeShift(emptyReport(shift, now), now, {
            printed_document_number: printed,
            fr_shift_number: shift,
          }),
        );
      t.equal(code(await close(12, 1)), INCORRECT, 'CLOSE_SHIFT with an old printed number');
      t.equal(code(await close(13, 2)), INCORRECT, 'CLOSE_SHIFT of a shift that is not open');
      t.equal(code(await close(13, 1)), OK, 'CLOSE_SHIFT of shift 1');
      t.equal(code(await tk(1, 14)), INCORRECT, 'shift 1 is closed');
      t.equal(code(await tk(2, 14)), OK, 'shift 2 opens');

      const badDate = ticket(rnd, { items: 1 });
      badDate.date_time = {
        date: { year: 2026, month: 2, day: 30 },
        time: { hour: 10, minute: 0, second: 0 },
      };
      t.equal(code(await dev.send(requests.ticket(badDate))), INCORRECT, '30 February');
      const badMoney = ticket(rnd, { items: 1 });
      badMoney.amounts!.total = { bills: 10, coins: 150 };
      t.equal(code(await dev.send(requests.ticket(badMoney))), INCORRECT, '150 coins');

      t.same(
        (
          await rows<{ printed_number: string }>(
            server,
            `SELECT printed_number FROM documents FINAL WHERE kkm_id = {kkm:UInt32} ORDER BY doc_seq`,
            { kkm: kkm.kkmId },
          )
        ).map((r) => Number(r.printed_number)),
        [10, 11, 0, 12, 13, 14],
        'only the accepted documents are stored',
      );
    },
  );

  t.test(`${via}: the buyer's IIN/BIN equal to the seller's BIN → 17`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const same = await dev.send(requests.ticket(ticket(rnd, { items: 2, customerIin: kkm.bin })));
    t.equal(code(same), ResultCode.RESULT_TYPE_SAME_TAXPAYER_AND_CUSTOMER, text(same));
    t.equal(same.header.token, kkm.token, 'no new token');
    t.notOk(same.response.ticket, 'no ticket number');
    t.same(await storedCount(server, kkm.kkmId), { final: 0, physical: 0 });

    const buyer = '900101300123';
    const other = await dev.send(requests.ticket(ticket(rnd, { items: 2, customerIin: buyer })));
    t.equal(code(other), OK, 'another buyer is fine');
    const [row] = await rows<{ customer_iin: string }>(
      server,
      `SELECT customer_iin FROM documents FINAL WHERE kkm_id = {kkm:UInt32}`,
      { kkm: kkm.kkmId },
    );
    t.equal(row?.customer_iin, buyer, 'and stored with the ticket');

    // A retry of the refused request gets the refusal again, byte for byte.
    const refused = await dev.send(
      requests.ticket(ticket(rnd, { items: 1, customerIin: kkm.bin })),
    );
    t.equal(code(refused), ResultCode.RESULT_TYPE_SAME_TAXPAYER_AND_CUSTOMER);
    t.same((await dev.resend()).bytes, refused.bytes, 'resent: the same refusal');
    const stale = await sendRaw(dev, requests.system(), { reqNum: dev.reqNum });
    t.equal(code(stale), ResultCode.RESULT_TYPE_INVALID_RETRY_REQUEST, 'it was a TICKET');
    const x = await dev.send(
      requests.report(ReportType.REPORT_X, emptyReport(1, new Date()), new Date()),
    );
    t.equal(x.response.report?.zx_report?.ticket_operations?.[2]?.tickets_count, 1, 'one sale');
  });
}
