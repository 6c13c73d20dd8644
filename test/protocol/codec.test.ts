import t from 'tap';
import { decodeRequest, encodeResponse, resultResponse } from '../../src/protocol/codec.js';
import { parseFrame, FrameError, type Frame } from '../../src/protocol/framer.js';
import { encodeFrame, readHeader } from '../../src/protocol/header.js';
import {
  Command,
  proto,
  Request,
  Response,
  ResultCode,
  type IRequest,
} from '../../src/protocol/schema.js';
import { as203, requests, seededRandom, ticket, emptyReport } from '../../src/sim/documents.js';
import { V203 } from '../../src/protocol/versions.js';

const random = seededRandom(1);

function frame(payload: Uint8Array, version = 202): Frame {
  const parsed = parseFrame(encodeFrame({ version, deviceId: 10, token: 20, reqNum: 30 }, payload));
  if (parsed instanceof FrameError) throw parsed;
  return parsed;
}
const frameOf = (req: IRequest, version = 202) => frame(Request.encode(req).finish(), version);

function codeOf(req: IRequest | Uint8Array, version = 202): number {
  const f = req instanceof Uint8Array ? frame(req, version) : frameOf(req, version);
  const d = decodeRequest(f);
  return d.ok ? ResultCode.RESULT_TYPE_OK : d.code;
}

t.test('decodes a valid 10-item ticket to typed integers', async (t) => {
  const d = decodeRequest(frameOf(requests.ticket(ticket(random, { items: 10 }))));
  t.ok(d.ok);
  if (!d.ok) return;
  t.equal(d.request.command, Command.COMMAND_TICKET);
  t.equal(d.request.ticket?.items?.length, 10);
  const total = d.request.ticket!.amounts!.total!;
  t.type(total.bills, 'number');
  t.ok(Number.isInteger(total.bills) && Number.isInteger(total.coins));
});

t.test('every version 2.0.0-2.0.3 is accepted, others are a protocol error', async (t) => {
  for (const v of [200, 201, 202, 203]) t.equal(codeOf(requests.info(), v), 0, `${v}`);
  for (const v of [100, 125, 199, 204, 999]) {
    t.equal(codeOf(requests.info(), v), ResultCode.RESULT_TYPE_PROTOCOL_ERROR, `${v}`);
  }
});

t.test('fields unknown to 2.0.2 (as 2.0.3 adds) do not break decoding', async (t) => {
  // field 99 (string "kk address") and field 100 (varint) appended at the top level
  const extra = Buffer.from([0x9a, 0x06, 0x03, 0x61, 0x62, 0x63, 0xa0, 0x06, 0x01]);
  const receipt = requests.ticket(ticket(random, { items: 2 }));
  const base = Request.encode(receipt).finish();
  t.equal(codeOf(Buffer.concat([base, extra]), 202), 0);
  // At 203 the receipt needs the parts 2.0.3 makes mandatory (domain, reg_info).
  const base203 = V203.Request.encode(as203(receipt)).finish();
  t.equal(codeOf(Buffer.concat([base203, extra]), 203), 0);
});

t.test('garbage protobuf is a protocol error', async (t) => {
  t.equal(codeOf(Buffer.from([0xff, 0xff, 0xff])), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
  t.equal(codeOf(Buffer.alloc(0)), ResultCode.RESULT_TYPE_PROTOCOL_ERROR, 'no command');
  // command field with a wrong wire type (length-delimited instead of varint)
  t.equal(codeOf(Buffer.from([0x0a, 0x01, 0x00])), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
});

t.test('unknown and reserved commands', async (t) => {
  t.equal(codeOf({ command: 42 as never }), ResultCode.RESULT_TYPE_UNKNOWN_COMMAND);
  t.equal(
    codeOf({ command: Command.COMMAND_RESERVED }),
    ResultCode.RESULT_TYPE_UNSUPPORTED_COMMAND,
  );
  const d = decodeRequest(frameOf({ command: 42 as never }));
  t.equal(d.ok ? -1 : d.command, 42, 'the rejection keeps the command to echo it');
});

t.test(
  'a ticket without items or amounts is answered BLOCKED (section 2.4, code 15)',
  async (t) => {
    const noItems = ticket(random, { items: 1 });
    noItems.items = [];
    t.equal(codeOf(requests.ticket(noItems)), ResultCode.RESULT_TYPE_BLOCKED);
    t.equal(codeOf({ command: Command.COMMAND_TICKET }), ResultCode.RESULT_TYPE_BLOCKED);
    // amounts is proto-required, so the encoder cannot leave it out: write the fields by hand
    const full = ticket(random, { items: 1 });
    const field = (tag: number, bytes: Uint8Array) =>
      Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
    const ticketBytes = Buffer.concat([
      Buffer.from([0x08, full.operation!]),
      field(0x12, proto.DateTime.encode(full.date_time!).finish()),
      field(0x1a, proto.Operator.encode(full.operator!).finish()),
      field(0x2a, proto.TicketRequest.Item.encode(full.items![0]!).finish()),
    ]);
    const noAmounts = Buffer.concat([
      Buffer.from([0x08, 0x01, 0x12, ticketBytes.length]),
      ticketBytes,
    ]);
    t.equal(codeOf(noAmounts), ResultCode.RESULT_TYPE_BLOCKED);
  },
);

t.test('close shift needs z_report and operator', async (t) => {
  const at = new Date();
  const ok = requests.closeShift(emptyReport(1, at), at);
  t.equal(codeOf(ok), 0);
  const noZ = requests.closeShift(emptyReport(1, at), at);
  delete noZ.close_shift!.z_report;
  t.equal(codeOf(noZ), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
  const noOperator = requests.closeShift(emptyReport(1, at), at);
  delete noOperator.close_shift!.operator;
  t.equal(codeOf(noOperator), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
  t.equal(codeOf({ command: Command.COMMAND_CLOSE_SHIFT }), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
});

t.test('money placement needs an operator from 2.0.2 on', async (t) => {
  const req = requests.moneyPlacement(true, 1000, new Date());
  delete req.money_placement!.operator;
  t.equal(codeOf(req, 202), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
  t.equal(codeOf(req, 203), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
  t.equal(codeOf(req, 201), 0, 'optional before 2.0.2');
});

t.test('report needs zx_report; nomenclature and auth need their bodies', async (t) => {
  const at = new Date();
  const rep = requests.report(1, emptyReport(1, at), at);
  t.equal(codeOf(rep), 0);
  delete rep.report!.zx_report;
  t.equal(codeOf(rep), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
  t.equal(codeOf({ command: Command.COMMAND_NOMENCLATURE }), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
  t.equal(codeOf({ command: Command.COMMAND_AUTH }), ResultCode.RESULT_TYPE_PROTOCOL_ERROR);
  t.equal(codeOf(requests.auth('a', 'b')), 0);
});

t.test('encodes a response frame with the same ID and REQNUM and the given token', async (t) => {
  const out = encodeResponse(
    { version: 203, deviceId: 10, reqNum: 30 },
    777,
    resultResponse(Command.COMMAND_TICKET, ResultCode.RESULT_TYPE_INVALID_TOKEN, 'wrong token'),
  );
  const h = readHeader(out);
  t.same([h.version, h.deviceId, h.token, h.reqNum, h.size], [203, 10, 777, 30, out.length]);
  const resp = Response.decode(out.subarray(18));
  t.equal(resp.command, Command.COMMAND_TICKET);
  t.equal(resp.result.result_code, 2);
  t.equal(resp.result.result_text, 'wrong token');
  const unsupported = readHeader(
    encodeResponse({ version: 999, deviceId: 1, reqNum: 1 }, 0, resultResponse(0, 3)),
  );
  t.equal(unsupported.version, 202, 'an unsupported version is answered as 2.0.2');
});
