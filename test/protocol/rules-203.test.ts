// Each part protocol 2.0.3 makes mandatory: refused in a VERSION 203 frame with the code the
// document gives a document missing a mandatory part (BLOCKED for a ticket, PROTOCOL_ERROR for
// the rest), accepted in the same frame at VERSION 202, where the 2.0.2 rules stand.
import t from 'tap';
import { decodeRequest } from '../../src/protocol/codec.js';
import { parseFrame, FrameError } from '../../src/protocol/framer.js';
import { encodeFrame } from '../../src/protocol/header.js';
import { Operation, ResultCode, type IRequest } from '../../src/protocol/schema.js';
import { schemaFor } from '../../src/protocol/versions.js';
import {
  as203,
  emptyReport,
  requests,
  seededRandom,
  ticket,
  dateTime,
} from '../../src/sim/documents.js';

const random = seededRandom(7);
const at = new Date('2025-03-14T12:00:00Z');

function codeAt(req: IRequest, version: number): { code: number; reason: string } {
  const payload = schemaFor(version).Request.encode(req).finish();
  const frame = parseFrame(encodeFrame({ version, deviceId: 1, token: 2, reqNum: 3 }, payload));
  if (frame instanceof FrameError) throw frame;
  const d = decodeRequest(frame);
  return d.ok ? { code: ResultCode.RESULT_TYPE_OK, reason: '' } : d;
}

const parent = {
  parent_ticket_number: '100000000001',
  parent_ticket_data_time: dateTime(at),
  kgd_kkm_id: '010102360873',
  parent_ticket_total: { bills: 10, coins: 0 },
  parent_ticket_is_offline: false,
};
const sell = () => as203(requests.ticket(ticket(random, { items: 2, at })));
const ret = () =>
  as203(
    requests.ticket({
      ...ticket(random, { items: 1, at, operation: Operation.OPERATION_SELL_RETURN }),
      parent_ticket: parent,
    }),
  );

t.test('complete 2.0.3 requests are accepted at 203 and at 202', async (t) => {
  for (const req of [
    sell(),
    ret(),
    as203(requests.closeShift(emptyReport(1, at), at)),
    as203(requests.moneyPlacement(true, 100, at)),
  ]) {
    t.equal(codeAt(req, 203).code, ResultCode.RESULT_TYPE_OK, `${req.command} at 203`);
    t.equal(codeAt(req, 202).code, ResultCode.RESULT_TYPE_OK, `${req.command} at 202`);
  }
});

const BLOCKED = ResultCode.RESULT_TYPE_BLOCKED;
const PROTOCOL_ERROR = ResultCode.RESULT_TYPE_PROTOCOL_ERROR;
const cases: [string, () => IRequest, number, RegExp][] = [
  [
    'ticket without domain',
    () => {
      const r = sell();
      delete r.ticket!.domain;
      return r;
    },
    BLOCKED,
    /domain/,
  ],
  [
    'ticket with a domain but no domain type',
    () => {
      const r = sell();
      r.ticket!.domain = {};
      return r;
    },
    BLOCKED,
    /domain/,
  ],
  [
    'SELL_RETURN without parent ticket',
    () => {
      const r = ret();
      delete r.ticket!.parent_ticket;
      return r;
    },
    BLOCKED,
    /parent_ticket/,
  ],
  [
    'BUY_RETURN without parent ticket',
    () => as203(requests.ticket(ticket(random, { operation: Operation.OPERATION_BUY_RETURN, at }))),
    BLOCKED,
    /parent_ticket/,
  ],
  [
    'commodity without measure_unit_code',
    () => {
      const r = sell();
      delete r.ticket!.items![1]!.commodity!.measure_unit_code;
      return r;
    },
    BLOCKED,
    /items\[1\].*measure_unit_code/,
  ],
  ['ticket without reg_info', () => ({ ...sell(), service: null }), BLOCKED, /reg_info/],
  [
    'ticket reg_info without org',
    () => ({ ...sell(), service: { reg_info: { kkm: { fns_kkm_id: '1' } } } }),
    BLOCKED,
    /reg_info\.org/,
  ],
  [
    'close shift without reg_info',
    () => requests.closeShift(emptyReport(1, at), at),
    PROTOCOL_ERROR,
    /reg_info/,
  ],
  [
    'money placement reg_info without kkm',
    () => ({
      ...requests.moneyPlacement(true, 100, at),
      service: { reg_info: { org: { inn: '1' } } },
    }),
    PROTOCOL_ERROR,
    /reg_info\.kkm/,
  ],
];

for (const [name, make, code, reason] of cases) {
  t.test(name, async (t) => {
    const at203 = codeAt(make(), 203);
    t.equal(at203.code, code, `refused at 203 (${at203.reason})`);
    t.match(at203.reason, reason);
    t.equal(codeAt(make(), 202).code, ResultCode.RESULT_TYPE_OK, 'accepted at 202');
  });
}

t.test('REPORT without zx_report: refused at 203, as 2.0.2 already does since 1.2.5', async (t) => {
  const req = as203(requests.report(1, emptyReport(1, at), at));
  delete req.report!.zx_report;
  t.equal(codeAt(req, 203).code, PROTOCOL_ERROR);
  t.equal(codeAt(req, 202).code, PROTOCOL_ERROR, '2.0.2 requires it for 1.2.5 and later');
});

t.test('the 2.0.3 fields are read at 203 only', async (t) => {
  const req = ret();
  req.ticket!.items![0]!.commodity!.ntin = '0487000123456';
  req.ticket!.items![0]!.commodity!.quantity = 5_000_000_000;
  const payload = schemaFor(203).Request.encode(req).finish();
  const read = (version: number) => {
    const frame = parseFrame(encodeFrame({ version, deviceId: 1, token: 2, reqNum: 3 }, payload));
    if (frame instanceof FrameError) throw frame;
    const d = decodeRequest(frame);
    if (!d.ok) throw new Error(d.reason);
    return d.request.ticket!;
  };
  const t203 = read(203);
  t.equal(t203.parent_ticket?.parent_ticket_number, parent.parent_ticket_number);
  t.equal(t203.items![0]!.commodity!.ntin, '0487000123456');
  t.equal(t203.items![0]!.commodity!.quantity, 5_000_000_000, '64-bit quantity');
  const t202 = read(202);
  t.notOk(t202.parent_ticket, '2.0.2 skips the parent ticket');
  t.notOk(t202.items![0]!.commodity!.ntin, '2.0.2 skips the NTIN');
});
