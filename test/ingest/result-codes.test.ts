// The request gate against a real server, over TCP and over HTTP POST /kkm: every result code
// it produces (1, 2, 3, 4, 5, 8, 9, 15, 254), garbage that is not a frame, and a retry that gets
// its answer back byte for byte. Command-specific codes (10, 14) are in commands.test.ts, the
// shift rules (11, 13, 17) in shift-rules.test.ts and Redis being down in redis-down.test.ts.
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { encodeFrame } from '../../src/protocol/header.js';
import { Command, Request, ResultCode } from '../../src/protocol/schema.js';
import { decodeAnswer, tcpPerRequest, type Answer } from '../../src/sim/kkm-client.js';
import { dateTime, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import {
  OK,
  VIAS,
  code,
  text,
  decodeLoose,
  device,
  encodeLoose,
  exchange,
  patchMethod,
  sendRaw,
  storedCount,
  tcpGarbage,
} from '../helpers/kkm.js';
import { startTestServer } from '../helpers/server.js';

const server = await startTestServer();
t.teardown(() => server.stop());

const rnd = seededRandom(1234);

for (const via of VIAS) {
  t.test(`${via}: unknown device → 1`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const unknownId = 4_000_000_000 + Math.floor(Math.random() * 1e6);
    const a = await sendRaw(dev, requests.info(), { deviceId: unknownId });
    t.equal(code(a), ResultCode.RESULT_TYPE_UNKNOWN_ID, text(a));
    t.equal(a.header.deviceId, unknownId, 'answered to the ID asked');
    t.equal(a.header.reqNum, dev.reqNum, 'with the same REQNUM');
    t.equal(a.response.command, Command.COMMAND_INFO, 'and the same command');
    const tk = await sendRaw(dev, requests.ticket(ticket(rnd, { items: 1 })), {
      deviceId: unknownId,
    });
    t.equal(code(tk), ResultCode.RESULT_TYPE_UNKNOWN_ID, 'a ticket from it too');
    const [n] = await server.db.rows<{ n: number }>(
      'SELECT count() AS n FROM documents WHERE kkm_id = {id:UInt32}',
      { id: unknownId },
    );
    t.equal(n!.n, 0, 'nothing stored');
  });

  t.test(`${via}: wrong token → 2`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const wrong = (kkm.token ^ 0x5a5a5a5a) >>> 0;
    const a = await sendRaw(dev, requests.ticket(ticket(rnd, { items: 2 })), { token: wrong });
    t.equal(code(a), ResultCode.RESULT_TYPE_INVALID_TOKEN, text(a));
    t.equal(a.header.token, wrong, 'answered with the token it came with');
    const sys = await sendRaw(dev, requests.system(), { token: wrong });
    t.equal(code(sys), ResultCode.RESULT_TYPE_INVALID_TOKEN, 'for every command');
    t.same(await storedCount(server, kkm.kkmId), { final: 0, physical: 0 }, 'nothing stored');
    const right = await dev.send(requests.ticket(ticket(rnd, { items: 2 })));
    t.equal(code(right), OK, 'the right token works');
  });

  t.test(`${via}: malformed protobuf and unsupported versions → 3`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const truncated = await sendRaw(dev, null, { payload: Buffer.from([0x0a, 0xff, 0xff]) });
    t.equal(code(truncated), ResultCode.RESULT_TYPE_PROTOCOL_ERROR, text(truncated));
    t.equal(truncated.header.reqNum, dev.reqNum, 'still an addressed answer');
    const empty = await sendRaw(dev, null, { payload: Buffer.alloc(0) });
    t.equal(code(empty), ResultCode.RESULT_TYPE_PROTOCOL_ERROR, 'no command at all');
    const noZ = await sendRaw(dev, {
      command: Command.COMMAND_CLOSE_SHIFT,
      close_shift: {
        close_time: dateTime(new Date()),
        operator: { code: 1 },
      },
    });
    t.equal(code(noZ), ResultCode.RESULT_TYPE_PROTOCOL_ERROR, 'CLOSE_SHIFT without z_report');

    for (const version of [199, 204, 101, 300]) {
      const a = await sendRaw(dev, requests.info(), { version });
      t.equal(code(a), ResultCode.RESULT_TYPE_PROTOCOL_ERROR, `version ${version}`);
      t.equal(a.header.version, 202, 'answered in 2.0.2');
    }
    for (const version of [200, 201, 202, 203]) {
      const a = await sendRaw(dev, requests.info(), { version });
      t.equal(code(a), OK, `version ${version} is supported`);
      t.equal(a.header.version, version, 'and echoed');
    }
    t.same(await storedCount(server, kkm.kkmId), { final: 0, physical: 0 });
  });

  t.test(`${via}: unknown command → 4, COMMAND_RESERVED → 5`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    // The answer echoes the command code (section 2.4), so only a schema that knows 42 (the
    // device's own) decodes it strictly; read it field by field.
    const unknown = decodeLoose(await exchange(dev, { payload: Buffer.from([0x08, 42]) }));
    t.equal(unknown.result.result_code, ResultCode.RESULT_TYPE_UNKNOWN_COMMAND);
    t.match(unknown.result.result_text, /unknown command 42/);
    t.equal(unknown.command, 42, 'the command code is echoed');
    t.equal(unknown.header.reqNum, dev.reqNum);
    t.equal(unknown.header.token, kkm.token);
    const reserved = await sendRaw(dev, { command: Command.COMMAND_RESERVED });
    t.equal(code(reserved), ResultCode.RESULT_TYPE_UNSUPPORTED_COMMAND, text(reserved));
    t.equal(reserved.response.command, Command.COMMAND_RESERVED);
    t.equal(code(await dev.send(requests.system())), OK, 'the device carries on');
  });

  t.test(`${via}: same REQNUM with another token → 8, another command → 9`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const tk = await dev.send(requests.ticket(ticket(rnd, { items: 1 })));
    t.equal(code(tk), OK);
    const reqNum = dev.reqNum;

    // The device took the new token but forgot to step REQNUM.
    const stuck = await sendRaw(dev, requests.system(), { reqNum });
    t.equal(code(stuck), ResultCode.RESULT_TYPE_INVALID_REQUEST_NUMBER, text(stuck));
    t.equal(stuck.header.token, dev.token, 'token unchanged');
    // Same REQNUM and token as the ticket, but another command.
    const other = await sendRaw(dev, requests.info(), { reqNum, token: kkm.token });
    t.equal(code(other), ResultCode.RESULT_TYPE_INVALID_RETRY_REQUEST, text(other));
    t.equal(other.response.command, Command.COMMAND_INFO);
    // Neither disturbed the retry of the ticket itself.
    const again = await dev.resend();
    t.same(again.bytes, tk.bytes, 'the ticket retry still gets its answer');

    const sys = await dev.send(requests.system());
    t.equal(code(sys), OK);
    const sysStuck = await sendRaw(dev, requests.system(), {
      reqNum: dev.reqNum,
      token: (dev.token + 1) >>> 0,
    });
    t.equal(code(sysStuck), ResultCode.RESULT_TYPE_INVALID_REQUEST_NUMBER, 'after SYSTEM too');
    const sysOther = await sendRaw(dev, requests.nomenclature(0), { reqNum: dev.reqNum });
    t.equal(code(sysOther), ResultCode.RESULT_TYPE_INVALID_RETRY_REQUEST, 'after SYSTEM too');
    t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 });
  });

  t.test(`${via}: blocked and deregistered KKMs, tickets without items → 15`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    t.equal(code(await dev.send(requests.ticket(ticket(rnd, { items: 1 })))), OK);

    const blocked = await server.admin('POST', `/api/v1/admin/kkms/${kkm.kkmId}/block`);
    t.same(blocked.json, { id: kkm.kkmId, status: 'blocked' });
    for (const req of [
      requests.system(),
      requests.info(),
      requests.ticket(ticket(rnd, { items: 1 })),
      requests.moneyPlacement(true, 100, new Date()),
    ]) {
      const before = dev.token;
      const a = await dev.send(req);
      t.equal(code(a), ResultCode.RESULT_TYPE_BLOCKED, `command ${req.command}: ${text(a)}`);
      t.equal(a.header.token, before, 'token unchanged');
    }
    t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 }, 'nothing stored');

    const unblocked = await server.admin('POST', `/api/v1/admin/kkms/${kkm.kkmId}/unblock`);
    t.equal(unblocked.json.status, 'active');
    const after = await dev.send(requests.ticket(ticket(rnd, { items: 1 })));
    t.equal(code(after), OK, `unblocked: ${text(after)}`);

    const noItems = ticket(rnd, { items: 1 });
    noItems.items = [];
    const empty = await dev.send(requests.ticket(noItems));
    t.equal(code(empty), ResultCode.RESULT_TYPE_BLOCKED, `ticket without items: ${text(empty)}`);
    const noOperator = { ...ticket(rnd, { items: 1 }), operator: undefined };
    const partial = await sendRaw(dev, null, {
      payload: encodeLoose({ command: Command.COMMAND_TICKET, ticket: noOperator }),
    });
    t.equal(
      code(partial),
      ResultCode.RESULT_TYPE_BLOCKED,
      `ticket without operator: ${text(partial)}`,
    );

    const gone = await server.admin('DELETE', `/api/v1/admin/kkms/${kkm.kkmId}`);
    t.same(gone.json, { id: kkm.kkmId, status: 'deregistered' });
    const sys = await dev.send(requests.system());
    t.equal(code(sys), ResultCode.RESULT_TYPE_BLOCKED, `deregistered: ${text(sys)}`);
    const tk = await dev.send(requests.ticket(ticket(rnd, { items: 1 })));
    t.equal(code(tk), ResultCode.RESULT_TYPE_BLOCKED, 'no tickets from a deregistered KKM');
    t.same(await storedCount(server, kkm.kkmId, 'ticket'), { final: 2, physical: 2 });
  });

  t.test(`${via}: storage unavailable → 254, the retry stores exactly once`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    t.equal(code(await dev.send(requests.system())), OK, 'device state warm');

    let attempts = 0;
    const restore = patchMethod(server.db, 'insert', async () => {
      attempts++;
      throw new Error('Code: 242. DB::Exception: Table is in readonly mode');
    });
    let failed: Answer;
    try {
      failed = await dev.send(requests.ticket(ticket(rnd, { items: 3 })));
    } finally {
      restore();
    }
    t.equal(code(failed), ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE, text(failed));
    t.ok(attempts >= 1, 'an insert was tried');
    t.equal(failed.header.token, kkm.token, 'no new token: nothing was accepted');
    t.notOk(failed.response.ticket, 'no ticket number');
    t.same(await storedCount(server, kkm.kkmId), { final: 0, physical: 0 }, 'nothing stored');

    const retry = await dev.resend();
    t.equal(code(retry), OK, `the device retries later: ${text(retry)}`);
    t.ok(retry.response.ticket?.ticket_number, 'and gets its ticket number');
    t.not(retry.header.token, kkm.token, 'and a new token');
    t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 }, 'stored once');
    const again = await dev.resend();
    t.same(again.bytes, retry.bytes, 'a further resend gets the same answer');
    t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 });

    // Reads failing (INFO needs the stored documents) are a 254 as well.
    await server.states.invalidate(kkm.kkmId);
    const restoreQuery = patchMethod(server.db, 'rows', async () => {
      throw new Error('connect ECONNREFUSED');
    });
    let info: Answer;
    try {
      info = await dev.send(requests.info());
    } finally {
      restoreQuery();
    }
    t.equal(code(info), ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE, text(info));
    const ok = await dev.send(requests.info());
    t.equal(code(ok), OK, 'and recovers');
    t.equal(ok.response.report?.zx_report?.ticket_operations?.[2]?.tickets_count, 1);
  });

  t.test(`${via}: a commit that landed but failed to confirm → 254, retry heals`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    t.equal(code(await dev.send(requests.system())), OK, 'device state warm');
    const insert = server.db.insert.bind(server.db);
    const restore = patchMethod(server.db, 'insert', async (...args: Parameters<typeof insert>) => {
      await insert(...args);
      throw new Error('socket hang up');
    });
    let failed: Answer;
    try {
      failed = await dev.send(requests.ticket(ticket(rnd, { items: 2 })));
    } finally {
      restore();
    }
    t.equal(code(failed), ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE, text(failed));
    t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 }, 'the row is there');

    const retry = await dev.resend();
    t.equal(code(retry), OK, text(retry));
    t.ok(retry.response.ticket?.ticket_number, 'the stored answer: its ticket number');
    t.not(retry.header.token, kkm.token, 'and its new token');
    t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 }, 'not stored again');
    t.same((await dev.resend()).bytes, retry.bytes, 'the same answer every time');
    const next = await dev.send(requests.ticket(ticket(rnd, { items: 1 })));
    t.equal(code(next), OK, 'the device carries on with the new token');
  });

  t.test(`${via}: Redis unavailable → 254, then the device carries on`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    t.equal(code(await dev.send(requests.system())), OK);
    const restore = patchMethod(server.redis, 'ofdClaimMany', async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    });
    let failed: Answer;
    let ping: Answer;
    try {
      failed = await dev.send(requests.ticket(ticket(rnd, { items: 2 })));
      ping = await sendRaw(dev, requests.system());
    } finally {
      restore();
    }
    t.equal(code(failed), ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE, text(failed));
    t.equal(failed.header.token, kkm.token, 'token unchanged');
    t.equal(code(ping), ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE, 'any command');
    t.same(await storedCount(server, kkm.kkmId), { final: 0, physical: 0 });
    const tk = await dev.send(requests.ticket(ticket(rnd, { items: 2 })));
    t.equal(code(tk), OK, text(tk));
    t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 });
  });

  t.test(`${via}: a resent ticket gets the same answer and is stored once`, async (t) => {
    const kkm = await server.registerKkm();
    const dev = device(server, kkm, via);
    const first = await dev.send(requests.ticket(ticket(rnd, { items: 5 })));
    t.equal(code(first), OK);
    for (let i = 0; i < 3; i++) {
      const again = await dev.resend();
      t.ok(again.bytes.equals(first.bytes), `resend ${i + 1}: byte-identical answer`);
    }
    t.equal(dev.token, first.header.token);
    t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 }, 'one stored row');

    const info = await dev.send(requests.info());
    t.same(await dev.resend().then((a) => a.bytes), info.bytes, 'INFO retried: same answer');
    const second = await dev.send(requests.ticket(ticket(rnd, { items: 1 })));
    t.equal(code(second), OK, 'the next ticket is new');
    t.not(second.response.ticket?.ticket_number, first.response.ticket?.ticket_number);
    t.same(await storedCount(server, kkm.kkmId), { final: 2, physical: 2 });
  });
}

t.test('tcp: garbage that is not a frame closes the connection', async (t) => {
  const port = server.tcp!.port;
  const http = await tcpGarbage(port, Buffer.from('GET /kkm HTTP/1.1\r\nHost: ofd\r\n\r\n'));
  t.equal(http.length, 0, 'an HTTP request on the TCP port: closed without an answer');
  const badSize = Buffer.alloc(18);
  badSize.writeUInt16LE(0x81a2, 0);
  badSize.writeUInt16LE(202, 2);
  badSize.writeUInt32LE(10, 4); // SIZE below the header size
  t.equal((await tcpGarbage(port, badSize)).length, 0, 'an impossible SIZE: closed');

  // A session: a valid frame is answered, garbage after it closes the connection.
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  const socket = net.connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const closed = once(socket, 'close');
  socket.write(dev.frame(requests.system()));
  for (let i = 0; i < 200 && Buffer.concat(received).length < 18; i++) await sleep(10);
  const answered = Buffer.concat(received);
  t.equal(answered.length, answered.readUInt32LE(4), 'one whole answer');
  t.equal(decodeAnswer(answered).response.result.result_code, OK, 'the frame was answered');
  socket.write(Buffer.alloc(32, 0x55));
  await Promise.race([
    closed,
    sleep(5000).then(() => Promise.reject(new Error('connection left open'))),
  ]);
  t.equal(Buffer.concat(received).length, answered.length, 'garbage: closed, no answer');

  // A ticket and garbage in one chunk: the connection is closed; whatever happened to the
  // ticket, the device's retry on a new connection gets one answer and one stored row.
  const ticketFrame = dev.frame(requests.ticket(ticket(rnd, { items: 2 })));
  const got = await tcpGarbage(port, Buffer.concat([ticketFrame, Buffer.alloc(32, 0x55)]));
  const retry = decodeAnswer(await tcpPerRequest(port)(ticketFrame));
  t.equal(retry.response.result.result_code, OK, 'the resent ticket is accepted');
  if (got.length > 0) t.same(got, retry.bytes, 'the same answer as the one cut off');
  t.same(await storedCount(server, kkm.kkmId), { final: 1, physical: 1 }, 'stored once');

  dev.token = retry.header.token;
  t.equal(code(await dev.send(requests.system())), OK, 'the server still serves devices');
});

t.test('http: a body that is not a frame is a 400', async (t) => {
  const url = `http://127.0.0.1:${server.httpPort}/kkm`;
  const post = (body: Uint8Array, type = 'application/octet-stream') =>
    fetch(url, { method: 'POST', headers: { 'content-type': type }, body: Buffer.from(body) });
  const garbage = await post(new TextEncoder().encode('definitely not a KKM frame'));
  t.equal(garbage.status, 400, 'wrong APPCODE');
  t.match(await garbage.json(), { message: /APPCODE/ });
  const short = await post(Uint8Array.from([0xa2, 0x81, 0xca]));
  t.equal(short.status, 400, 'shorter than a header');
  const kkm = await server.registerKkm();
  const valid = encodeFrame(
    { version: 202, deviceId: kkm.kkmId, token: kkm.token, reqNum: 1 },
    Request.encode(requests.system()).finish(),
  );
  const truncated = await post(valid.subarray(0, valid.length - 1));
  t.equal(truncated.status, 400, 'SIZE does not match the body');
  const asText = await post(valid, 'text/plain');
  t.equal(asText.status, 415, 'not sent as octet-stream');
  const ok = await post(valid);
  t.equal(ok.status, 200);
  t.equal(decodeAnswer(Buffer.from(await ok.arrayBuffer())).response.result.result_code, OK);
});
