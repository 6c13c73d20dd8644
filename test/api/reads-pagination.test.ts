// Keyset pagination of receipts while the KKM keeps sending: readers walk the pages (by shift
// and by period) as tickets arrive over TCP, resume from their last cursor once caught up, and
// must end with exactly the stored receipts — none repeated, none skipped, in order — even
// when offline uploads dated in the past arrive meanwhile.
import t from 'tap';
import { startTestServer } from '../helpers/server.js';
import { rows } from '../helpers/kkm.js';
import { get, ownerToken, sell } from '../helpers/reads.js';
import { seededRandom } from '../../src/sim/documents.js';

const server = await startTestServer();
t.teardown(() => server.stop());

const TICKETS = 240;
const kkm = await server.registerKkm();
const token = await ownerToken(server, kkm.bin);
const base = Date.parse('2026-04-01T08:00:00Z');

t.test('pages never repeat or skip a receipt while receipts keep arriving', async (t) => {
  const dev = server.tcpDevice(kkm);
  const random = seededRandom(7);
  // The first receipt opens shift 1 before the readers start.
  await sell(dev, random, new Date(base), { items: 1 });
  let sending = true;
  const sender = (async () => {
    try {
      let offline = 0;
      for (let i = 1; i < TICKETS; i++) {
        // Every 30th is an offline upload dated back into the pages already read: ordering
        // by device time would slip it in behind the readers' cursors.
        if (i % 30 === 0) {
          await sell(dev, random, new Date(base + (i / 2) * 20_000), {
            items: 1,
            offlineNumber: ++offline,
          });
        } else {
          await sell(dev, random, new Date(base + i * 20_000), { items: 1 });
        }
      }
    } finally {
      sending = false;
    }
  })();

  /** Walks pages until the sender is done and a page comes back empty. */
  const reader = async (query: string, limit: number) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let pagesWhileSending = 0;
    for (;;) {
      const done = !sending;
      const url: string = `/api/v1/kkms/${kkm.kkmId}/tickets?${query}&limit=${limit}${
        cursor ? `&cursor=${cursor}` : ''
      }`;
      const res = await get(server, url, token);
      if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(res.json)}`);
      pages++;
      if (!done) pagesWhileSending++;
      seen.push(...res.json.items.map((i: { ticketNumber: string }) => i.ticketNumber));
      // An empty page answers nextCursor null: keep the last one to poll for later receipts.
      if (res.json.nextCursor) cursor = res.json.nextCursor;
      else if (done) break;
      else await new Promise((r) => setTimeout(r, 5));
    }
    return { seen, pages, pagesWhileSending };
  };

  const [byShift, byPeriod, bigPages] = await Promise.all([
    reader('shift=1', 7),
    reader('from=2026-04-01&to=2026-04-02', 13),
    reader('shift=1', 50),
    sender,
  ]);

  const stored = (
    await rows<{ n: string }>(
      server,
      `SELECT ticket_number AS n FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND doc_type = 'ticket' ORDER BY doc_seq`,
      { kkm: kkm.kkmId },
    )
  ).map((r) => r.n);
  t.equal(stored.length, TICKETS, 'every receipt stored');
  for (const [name, r] of Object.entries({ byShift, byPeriod, bigPages })) {
    t.ok(
      r.pagesWhileSending > 3,
      `${name}: read ${r.pagesWhileSending} pages while receipts arrived`,
    );
    t.equal(new Set(r.seen).size, r.seen.length, `${name}: no receipt repeated`);
    t.same(r.seen, stored, `${name}: exactly the stored receipts, in order`);
  }
});
