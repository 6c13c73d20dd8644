// Protocol 2.0.3 end to end, beside 2.0.2, on a real server (embedded ClickHouse, real Redis):
// a fleet of 2.0.2 and 2.0.3 registers in one run (stored = acknowledged, every 2.0.3 field read
// back through the cabinet receipt), the parent-ticket rule, and the barcode lookup.
import t from 'tap';
import { startTestServer, type RegisteredKkm } from '../helpers/server.js';
import { cabinetClient } from '../helpers/cabinet.js';
import { OK, code, rows, text } from '../helpers/kkm.js';
import { as203, dateTime, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { KkmDevice, TcpLink } from '../../src/sim/kkm-client.js';
import {
  NomenclatureResult,
  Operation,
  ResultCode,
  type IRequest,
  type ITicketRequest,
} from '../../src/protocol/schema.js';
import { rich203 } from '../helpers/receipts-203.js';

const server = await startTestServer();
t.teardown(() => server.stop());
const cabinet = cabinetClient(server);

function device(kkm: RegisteredKkm, version: number): KkmDevice {
  const link = new TcpLink(server.tcp!.port);
  t.teardown(() => link.close());
  return new KkmDevice(kkm.kkmId, kkm.token, link.send, version);
}

/** The KKM's KGD registration number, as our SYSTEM answer names it. */
async function kgdNumber(dev: KkmDevice): Promise<string> {
  const sys = await dev.send(requests.system());
  return sys.response.service!.reg_info!.kkm!.fns_kkm_id!;
}

t.test('a fleet of 2.0.2 and 2.0.3 registers in one run', async (t) => {
  const at = new Date(Date.now() - 3.6e6);
  const fleet = await Promise.all(
    [202, 203, 202, 203, 201, 203].map(async (version) => {
      const kkm = await server.registerKkm();
      return { kkm, version, dev: device(kkm, version) };
    }),
  );
  const acknowledged = new Map<number, string[]>();
  const sent203 = new Map<string, ITicketRequest>();
  await Promise.all(
    fleet.map(async ({ kkm, version, dev }, n) => {
      const numbers: string[] = [];
      acknowledged.set(kkm.kkmId, numbers);
      const kgd = version >= 203 ? await kgdNumber(dev) : '';
      for (let i = 0; i < 3; i++) {
        const seed = 1000 * n + i;
        const tk =
          version >= 203 ? rich203(seed, at) : ticket(seededRandom(seed), { items: 3, at });
        const req: IRequest = version >= 203 ? as203(requests.ticket(tk)) : requests.ticket(tk);
        const a = await dev.send(req);
        t.equal(code(a), OK, `${version} ticket ${i}: ${text(a)}`);
        const number = a.response.ticket!.ticket_number;
        numbers.push(number);
        if (version >= 203) sent203.set(number, tk);
      }
      if (version < 203) return;
      // A return of the first receipt, naming it as its parent.
      const parentTk = sent203.get(numbers[0]!)!;
      const back = ticket(seededRandom(n), {
        items: 1,
        at,
        operation: Operation.OPERATION_SELL_RETURN,
      });
      back.parent_ticket = {
        parent_ticket_number: numbers[0]!,
        parent_ticket_data_time: parentTk.date_time!,
        kgd_kkm_id: kgd,
        parent_ticket_total: parentTk.amounts!.total!,
        parent_ticket_is_offline: false,
      };
      const r = await dev.send(as203(requests.ticket(back)));
      t.equal(code(r), OK, `return: ${text(r)}`);
      numbers.push(r.response.ticket!.ticket_number);
      sent203.set(r.response.ticket!.ticket_number, back);
    }),
  );

  for (const { kkm, version } of fleet) {
    const stored = await rows<{ ticket_number: string; protocol_version: number }>(
      server,
      `SELECT ticket_number, protocol_version FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND doc_type = 'ticket' ORDER BY doc_seq`,
      { kkm: kkm.kkmId },
    );
    t.same(
      stored.map((r) => r.ticket_number),
      acknowledged.get(kkm.kkmId),
      `${version}: stored = acknowledged`,
    );
    t.ok(
      stored.every((r) => Number(r.protocol_version) === version),
      'protocol version kept',
    );
  }

  // Every 2.0.3 field read back through the cabinet receipt.
  for (const { kkm, version } of fleet) {
    const token = await cabinet.login(kkm.bin);
    for (const number of acknowledged.get(kkm.kkmId)!) {
      const res = await cabinet.call('GET', `/api/v1/kkms/${kkm.kkmId}/tickets/${number}`, {
        token,
      });
      t.equal(res.status, 200);
      const r = res.json;
      t.equal(r.protocolVersion, version);
      if (version < 203) {
        t.equal(r.domain, null, '2.0.2 receipt: no domain');
        t.equal(r.parentTicket, null);
        t.same(r.items[0].exciseStamps, []);
        t.equal(r.items[0].ntin, '');
        t.equal(r.items[0].measureUnitCode, '796');
        t.same(r.payments[0], { type: 'cash', sum: r.total, card: null, mobile: null });
        continue;
      }
      const sent = sent203.get(number)!;
      if (sent.parent_ticket) {
        const p = sent.parent_ticket;
        t.same(r.parentTicket, {
          number: p.parent_ticket_number,
          dateTime: r.parentTicket?.dateTime,
          kgdKkmId: p.kgd_kkm_id,
          total: Number(p.parent_ticket_total!.bills) * 100 + Number(p.parent_ticket_total!.coins),
          offline: false,
        });
        t.match(r.parentTicket.dateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
        t.equal(r.domain, 'trading', 'as203 names the trading domain');
        continue;
      }
      const c1 = sent.items![0]!.commodity!;
      t.equal(r.domain, 'services');
      t.equal(r.items[0].ntin, c1.ntin);
      t.same(r.items[0].exciseStamps, c1.list_excise_stamp);
      t.equal(r.items[0].measureUnitCode, '796');
      t.equal(r.items[1].quantity, 5_000_000_000, '64-bit quantity end to end');
      t.same(r.payments[0], {
        type: 'card',
        sum: r.payments[0].sum,
        card: {
          terminalId: sent.payments![0]!.card_payment_fields!.pos_terminal_id,
          cardType: 'VISA',
          authorizationCode: 481516,
          rrn: 503412345678,
          receiptNumber: sent.payments![0]!.card_payment_fields!.pos_receipt_number,
        },
        mobile: null,
      });
      t.same(r.payments[1].mobile, {
        qrType: 'KASPI_QR',
        qrId: sent.payments![1]!.mobile_payment_fields!.qr_id,
      });
      t.equal(r.payments[1].card, null);
      t.equal(r.parentTicket, null);
    }
  }
});

t.test('a 2.0.2 excise_stamp is the one entry of exciseStamps', async (t) => {
  const kkm = await server.registerKkm();
  const dev = device(kkm, 202);
  const tk = ticket(seededRandom(5), { items: 1 });
  tk.items![0]!.commodity!.excise_stamp = 'OLD-STAMP';
  const a = await dev.send(requests.ticket(tk));
  t.equal(code(a), OK, text(a));
  const token = await cabinet.login(kkm.bin);
  const number = a.response.ticket!.ticket_number;
  const r = await cabinet.call('GET', `/api/v1/kkms/${kkm.kkmId}/tickets/${number}`, { token });
  t.same(r.json.items[0].exciseStamps, ['OLD-STAMP']);
});

t.test('2.0.3 parent ticket: an unknown one is refused, an offline one accepted', async (t) => {
  const kkm = await server.registerKkm();
  const dev = device(kkm, 203);
  const kgd = await kgdNumber(dev);
  const ret = (parentNumber: string, offline: boolean) => {
    const tk = ticket(seededRandom(9), { items: 1, operation: Operation.OPERATION_SELL_RETURN });
    tk.parent_ticket = {
      parent_ticket_number: parentNumber,
      parent_ticket_data_time: dateTime(new Date()),
      kgd_kkm_id: kgd,
      parent_ticket_total: { bills: 100, coins: 0 },
      parent_ticket_is_offline: offline,
    };
    return as203(requests.ticket(tk));
  };
  const unknown = await dev.send(ret('999999999999', false));
  t.equal(code(unknown), ResultCode.RESULT_TYPE_BLOCKED, text(unknown));
  t.match(text(unknown), /parent ticket 999999999999/);
  const offline = await dev.send(ret('999999999999', true));
  t.equal(code(offline), OK, `offline parent: ${text(offline)}`);
  // At 202 the same return (its parent unread) keeps the 2.0.2 rules.
  const dev202 = device(await server.registerKkm(), 202);
  const at202 = await dev202.send(ret('999999999999', false));
  t.equal(code(at202), OK, text(at202));
});

t.test('barcode lookup: nomenclature, then catalogue, else code 18', async (t) => {
  const kkm = await server.registerKkm();
  const put = await server.admin('PUT', `/api/v1/admin/orgs/${kkm.orgId}/nomenclature`, {
    elements: [
      {
        type: 1,
        title: 'Молоко',
        id: 7,
        item: { barcode: '4870001234567', purchase_price: 40000, sell_price: 54500 },
      },
    ],
  });
  t.equal(put.status, 200, JSON.stringify(put.json));
  const cat = await server.admin('PUT', '/api/v1/admin/catalogue', {
    entries: [
      { barcode: '4870009990001', ntin: '0487000999000', nameRu: 'Хлеб', nameKk: 'Нан' },
      { barcode: '4870001234567', ntin: 'X', nameRu: 'not this one', nameKk: '' },
    ],
  });
  t.same([cat.status, cat.json], [200, { stored: 2 }]);
  const bad = await server.admin('PUT', '/api/v1/admin/catalogue', { entries: [{ barcode: '' }] });
  t.equal(bad.status, 400, 'entries are validated');

  const dev = device(kkm, 203);
  const ask = (barcode: string) => dev.send({ command: 4, nomenclature: { barcode } } as IRequest);
  const own = await ask('4870001234567');
  t.equal(code(own), OK);
  t.equal(own.response.nomenclature?.result, NomenclatureResult.RESULT_TYPE_OK);
  t.match(own.response.nomenclature?.elements, [{ id: 7, title: 'Молоко' }]);
  t.equal(Number(own.response.nomenclature?.elements?.[0]?.item?.sell_price?.bills), 545);

  const national = await ask('4870009990001');
  t.equal(code(national), OK);
  t.match(national.response.nomenclature?.elements, [
    { title: 'Хлеб', title_kk: 'Нан', item: { barcode: '4870009990001', ntin: '0487000999000' } },
  ]);

  const missing = await ask('4870000000000');
  t.equal(code(missing), ResultCode.RESULT_TYPE_ELEMENT_NOT_FOUND_BY_BARCODE);
  t.equal(missing.response.result.result_code, 18);
  t.equal(
    missing.response.nomenclature?.result,
    NomenclatureResult.RESULT_TYPE_ELEMENT_NOT_FOUND_BY_BARCODE,
  );
});

t.test(
  '2.0.3 SYSTEM: the Kazakh address and the geo-position with its source are kept',
  async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(kkm, 203);
    const sys = await dev.send({
      command: 0,
      service: {
        security_stats: {
          geo_position: { latitude: 43260544, longitude: 76945465, source: 'GPS' },
        },
        reg_info: {
          kkm: { fns_kkm_id: 'FNS-1' },
          org: { inn: kkm.bin, address_kz: 'Алматы қ., Төле би, 101' },
        },
      },
    });
    t.equal(code(sys), OK, text(sys));
    const events = await rows<{ kind: string; detail: string }>(
      server,
      `SELECT kind, detail FROM device_events
     WHERE kkm_id = {kkm:UInt32} AND kind IN ('geo_position', 'reg_info') ORDER BY kind`,
      { kkm: kkm.kkmId },
    );
    t.same(
      events.map((e) => [e.kind, JSON.parse(e.detail)]),
      [
        ['geo_position', { latitude: 43260544, longitude: 76945465, source: 'GPS' }],
        [
          'reg_info',
          {
            kkm: { fns_kkm_id: 'FNS-1' },
            org: { inn: kkm.bin, address_kz: 'Алматы қ., Төле би, 101' },
          },
        ],
      ],
    );
  },
);
