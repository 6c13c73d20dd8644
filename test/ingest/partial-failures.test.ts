// Failures that hit part of a request: its document committed while a device event of the
// same request was refused, and a rebuild that failed after the device was marked for one.
// Either way the device must not trust the state it had before: the retry gets the stored
// answer and nothing is stored twice.
import t from 'tap';
import { ResultCode } from '../../src/protocol/schema.js';
import { dateTime, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { StoreUnavailableError } from '../../src/storage/batch-writer.js';
import { code, OK, patchMethod, storedCount, text } from '../helpers/kkm.js';
import { startTestServer } from '../helpers/server.js';

const server = await startTestServer();
t.teardown(() => server.stop());
const rnd = seededRandom(99);
const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;

t.test('document committed, its offline-period event refused: the retry is answered', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  t.equal(code(await dev.send(requests.ticket(ticket(rnd)))), OK, 'ticket 1');
  const write = server.writer.write.bind(server.writer);
  const restore = patchMethod(server.writer, 'write', (table: string, row: object) =>
    table === 'device_events'
      ? Promise.reject(new StoreUnavailableError('queue full', { notWritten: true }))
      : write(table, row as Record<string, unknown>),
  );
  const now = new Date();
  const upload = {
    ...requests.ticket(ticket(rnd)),
    service: {
      offline_period: {
        begin_time: dateTime(new Date(now.getTime() - 3_600_000)),
        end_time: dateTime(now),
      },
    },
  };
  let failed;
  try {
    failed = await dev.send(upload);
  } finally {
    restore();
  }
  t.equal(code(failed), UNAVAILABLE, `254 for the request: ${text(failed)}`);
  t.same(await storedCount(server, kkm.kkmId), { final: 2, physical: 2 }, 'its document landed');
  const retry = await dev.resend();
  t.equal(code(retry), OK, `the retry: ${text(retry)}`);
  t.same(
    await storedCount(server, kkm.kkmId),
    { final: 2, physical: 2 },
    'answered from the stored document, not stored again',
  );
  t.equal(code(await dev.send(requests.ticket(ticket(rnd)))), OK, 'the device carries on');
});

t.test('a rebuild that fails leaves the device marked for rebuild', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  t.equal(code(await dev.send(requests.ticket(ticket(rnd)))), OK, 'ticket 1');
  const key = server.states.key(kkm.kkmId);
  // What a commit of unknown outcome leaves: the next request must rebuild from ClickHouse.
  await server.redis.hset(key, 'p', '0:uncertain');
  const restore = patchMethod(server.core, 'rebuild', async () => {
    throw new Error('ClickHouse unreachable');
  });
  let failed;
  try {
    failed = await dev.send(requests.ticket(ticket(rnd)));
  } finally {
    restore();
  }
  t.equal(code(failed), UNAVAILABLE, '254 while the state cannot be rebuilt');
  t.equal(await server.redis.hget(key, 'p'), '0:uncertain', 'still marked for rebuild');
  const next = await dev.resend();
  t.equal(code(next), OK, `then rebuilt and answered: ${text(next)}`);
  t.same(await storedCount(server, kkm.kkmId), { final: 2, physical: 2 });
});
