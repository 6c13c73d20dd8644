// Rows inserted as JSONEachRow bytes (Db.insertLines, the spool's drain) are stored as the same
// rows inserted as objects (Db.insert), through the embedded engine's raw insert and through a
// client's INSERT body alike; a malformed line fails the whole insert and stores nothing.
import t from 'tap';
import { openClickHouse } from '../../src/storage/clickhouse.js';
import { clickHouseDb, jsonLines, type Db } from '../../src/storage/db.js';
import { openTestStore } from '../harness/store.js';

const store = await openTestStore('insert-lines');
// A second session on the same data: its insertLines goes through the client (as to a server).
const client = openClickHouse({ dataDir: store.dataDir });
const throughClient = clickHouseDb(client);
t.teardown(async () => {
  await client.close();
  await store.close();
});

const AT = Date.UTC(2026, 11, 4, 12, 0, 0);
// Values a line must carry intact: newlines, quotes, backslashes, two-byte and four-byte text.
const details = ['plain', 'two\nlines\n\nand a gap', 'quote " and \\ backslash', 'Қазақ тілі 🧾'];
const events = (kkmId: number) =>
  details.map((detail, i) => ({ kkm_id: kkmId, received_at: AT + i, kind: 'lines_test', detail }));

async function stored(db: Db, kkmId: number) {
  return db.rows<{ received_at: string; detail: string }>(
    `SELECT toString(received_at) AS received_at, detail FROM device_events
     WHERE kkm_id = {kkm:UInt32} ORDER BY received_at`,
    { kkm: kkmId },
  );
}

t.test('the same rows as an insert of objects, both ways', async (t) => {
  await store.db.insert('device_events', events(301));
  await store.db.insertLines('device_events', jsonLines(events(302)));
  await throughClient.insertLines!('device_events', jsonLines(events(303)), {
    os_thread_priority: 19,
  });
  const objects = await stored(store.db, 301);
  t.equal(objects.length, details.length, 'the objects stored');
  t.same(await stored(store.db, 302), objects, 'raw insert of the embedded engine: the same');
  t.same(await stored(store.db, 303), objects, "a client's INSERT body: the same");
  t.same(
    objects.map((r) => r.detail),
    details,
    'every value intact',
  );
});

t.test('a malformed line fails the insert and stores none of it', async (t) => {
  const good = jsonLines(events(304));
  const bad = Buffer.concat([good, Buffer.from('{"kkm_id": 304, "received_at": \n')]);
  for (const [name, db] of [
    ['raw insert', store.db],
    ['client', throughClient],
  ] as const) {
    await t.rejects(db.insertLines!('device_events', bad), `${name}: rejected`);
  }
  t.same(await stored(store.db, 304), [], 'nothing of it stored');
  await t.rejects(
    store.db.insertLines('device_events; DROP TABLE documents', good),
    /bad table name/,
    'a table name that is not one is refused before any SQL',
  );
});
