import t from 'tap';
import { startTestServer } from '../helpers/server.js';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { ResultCode } from '../../src/protocol/schema.js';

const server = await startTestServer({ TEST_LOG_LEVEL: 'warn' });
t.teardown(() => server.stop());

t.test('a KKM session over TCP', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  const info = await dev.send(requests.info());
  t.equal(info.response.result.result_code, 0, 'info ok');
  const tk = await dev.send(requests.ticket(ticket(seededRandom(1), { items: 3 })));
  t.equal(
    tk.response.result.result_code,
    ResultCode.RESULT_TYPE_OK,
    'ticket ok: ' + tk.response.result.result_text,
  );
  t.not(tk.header.token, kkm.token, 'token rotated');
  t.ok(tk.response.ticket?.ticket_number);
  console.log(
    tk.response.ticket?.ticket_number,
    Buffer.from(tk.response.ticket!.qr_code!).toString(),
  );
});
