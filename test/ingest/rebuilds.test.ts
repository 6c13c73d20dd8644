// Rebuilds in bulk: after a Redis flush every device's next request rebuilds its state from
// ClickHouse. The rebuild reads (KKM rows, last documents) and INFO's own (registration, last
// Z report) of the devices that come together go as one query per batch, not one per device;
// a state rebuilt in a batch is the one rebuilt alone; and past OFD_MAX_REBUILDS requests at
// once the rest are answered 254 at once, and their resends are then answered.
import t from 'tap';
import { ReportType, ResultCode } from '../../src/protocol/schema.js';
import { emptyReport, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import type { Answer, KkmDevice } from '../../src/sim/kkm-client.js';
import type { IRequest } from '../../src/protocol/schema.js';
import type { Db } from '../../src/storage/db.js';
import { code, OK, patchMethod, storedCount, text } from '../helpers/kkm.js';
import { startTestServer, type RegisteredKkm } from '../helpers/server.js';

t.setTimeout(240_000);
const MAX_REBUILDS = 12;
const server = await startTestServer({ OFD_MAX_REBUILDS: String(MAX_REBUILDS) });
t.teardown(() => server.stop());
const rnd = seededRandom(12);
const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;

interface Device {
  kkm: RegisteredKkm;
  dev: KkmDevice;
}

/** KKMs of one organization, each with a receipt stored and (closed) its shift closed. */
async function devices(count: number, closed: boolean): Promise<Device[]> {
  const first = await server.registerKkm();
  const kkms = [first];
  for (let i = 1; i < count; i++) kkms.push(await server.registerKkm({ orgId: first.orgId }));
  return Promise.all(
    kkms.map(async (kkm) => {
      const dev = server.tcpDevice(kkm);
      const sold = await answered(dev, requests.ticket(ticket(rnd)));
      if (code(sold) !== OK) throw new Error(`ticket: ${text(sold)}`);
      if (closed) {
        const now = new Date();
        const x = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(1, now), now));
        const close = await dev.send(requests.closeShift(x.response.report!.zx_report!, now));
        if (code(close) !== OK) throw new Error(`close shift: ${text(close)}`);
      }
      return { kkm, dev };
    }),
  );
}

/** Sends the request, then resends it on 254 until it is answered (the register's rule). */
async function answered(dev: KkmDevice, request: IRequest): Promise<Answer> {
  return untilAnswered(dev, await dev.send(request));
}

/**
 * After `first`: the same frame again, after a pause (the register's rule: 50–200 ms), while it
 * is answered 254, for at most a minute. Resending at once could spend any count of tries
 * while the admitted rebuilds are still being read on a loaded machine.
 */
async function untilAnswered(dev: KkmDevice, first: Answer): Promise<Answer> {
  let answer = first;
  const until = performance.now() + 60_000;
  while (code(answer) === UNAVAILABLE && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50 + rnd() * 150));
    answer = await dev.resend();
  }
  return answer;
}

/** What a Redis flush leaves of these devices' states: nothing. */
async function flush(list: Device[]) {
  await server.redis.del(...list.map((d) => server.states.key(d.kkm.kkmId)));
}

/** Counts the queries of `db` and of its writer's session while `run` runs. */
async function countingQueries<T>(db: Db, run: () => Promise<T>): Promise<[T, string[]]> {
  const queries: string[] = [];
  const restores = [db, ...(db.afterWrites ? [db.afterWrites()] : [])].map((target) => {
    const rows = target.rows.bind(target);
    return patchMethod(target, 'rows', (query: string, params?: Record<string, unknown>) => {
      queries.push(query.replace(/\s+/g, ' ').slice(0, 80));
      return rows(query, params);
    });
  });
  try {
    return [await run(), queries];
  } finally {
    for (const restore of restores) restore();
  }
}

const closedShifts = await devices(MAX_REBUILDS, true);

t.test('a storm of INFO after a flush: one query per batch, not per device', async (t) => {
  await flush(closedShifts);
  const [answers, queries] = await countingQueries(server.db, () =>
    Promise.all(closedShifts.map(({ dev }) => dev.send(requests.info()))),
  );
  for (const a of answers) t.equal(code(a), OK, `INFO answered: ${text(a)}`);
  for (const [i, { kkm }] of closedShifts.entries()) {
    const reg = answers[i]!.response.service?.reg_info;
    t.equal(reg?.kkm?.kkm_id, String(kkm.kkmId), 'its own registration');
    const z = answers[i]!.response.report;
    t.equal(z?.report, ReportType.REPORT_Z, 'its last Z report');
    t.equal(z?.zx_report?.shift_number, 1, 'of the shift it closed');
  }
  // Per device, one at a time, these would be 6 queries each: its KKM row, its organization
  // and last document (the rebuild), its KKM row, point and organization again (INFO's
  // registration), its last shift closure. Batched: a query per read for each batch (the first
  // device's batch alone, as it arrives first, and the others' together); the registration
  // reuses the rebuild's KKM row, and the last closure is the document the state was rebuilt
  // from.
  t.ok(
    queries.length <= 8,
    `${closedShifts.length} devices rebuilt and answered with ${queries.length} queries ` +
      `(one at a time: ${closedShifts.length * 6}):\n${queries.join('\n')}`,
  );
  t.notOk(
    queries.some((q) => q.includes('server_report FROM')),
    'no read of the last shift closure apart from the rebuild',
  );
  t.equal(server.core.rebuildsInFlight, 0, 'no rebuild left counted');
});

t.test('a state rebuilt in a batch is the state rebuilt alone', async (t) => {
  const openShifts = await devices(4, false);
  const ids = [...closedShifts, ...openShifts].map((d) => d.kkm.kkmId);
  const [together, queries] = await countingQueries(server.db, () =>
    Promise.all(ids.map((id) => server.core.rebuild(id))),
  );
  t.ok(queries.length <= 3, `${ids.length} rebuilt together by ${queries.length} queries`);
  const alone = [];
  for (const id of ids) alone.push(await server.core.rebuild(id));
  t.same(together, alone, 'the same states');
  for (const [i, state] of together.entries()) {
    t.equal(state?.kkmId, ids[i], 'each its own');
    t.equal(state?.lastFromHistory, true, 'from its last document');
  }
  t.equal(await server.core.rebuild(999_999), null, 'an unknown id: none');
});

t.test('past OFD_MAX_REBUILDS at once: 254 at once, then the resend is answered', async (t) => {
  const more = await devices(MAX_REBUILDS * 2, false);
  const all = [...closedShifts, ...more];
  await flush(all);
  const before = await Promise.all(all.map(({ kkm }) => storedCount(server, kkm.kkmId)));
  const first = await Promise.all(all.map(({ dev }) => dev.send(requests.info())));
  const refused = first.filter((a) => code(a) === UNAVAILABLE);
  t.ok(refused.length > 0, `${refused.length} of ${all.length} answered 254`);
  t.ok(first.length - refused.length >= MAX_REBUILDS, 'at least the limit admitted');
  for (const a of refused) t.match(a.response.result.result_text, /rebuilding/, 'says why');
  // The register's rule: the same frame again until it is answered.
  const answers = await Promise.all(all.map(({ dev }, i) => untilAnswered(dev, first[i]!)));
  for (const a of answers) t.equal(code(a), OK, `answered: ${text(a)}`);
  t.equal(server.core.rebuildsInFlight, 0, 'no rebuild left counted');
  // The devices carry on from their rebuilt states: a receipt each, stored once.
  for (const { dev } of all) t.equal(code(await dev.send(requests.ticket(ticket(rnd)))), OK);
  const after = await Promise.all(all.map(({ kkm }) => storedCount(server, kkm.kkmId)));
  for (const [i, count] of after.entries()) {
    t.same(
      count,
      { final: before[i]!.final + 1, physical: before[i]!.physical + 1 },
      'one more document, stored once',
    );
  }
});

t.test(
  'a rebuild read that fails fails its whole batch with 254; the resends are answered',
  async (t) => {
    t.equal(server.core.rebuildsInFlight, 0, 'no rebuild in flight before');
    await flush(closedShifts);
    const queries = server.db.afterWrites?.() ?? server.db;
    const restore = patchMethod(queries, 'rows', async () => {
      throw new Error('ClickHouse unreachable');
    });
    let failed;
    try {
      failed = await Promise.all(closedShifts.map(({ dev }) => dev.send(requests.info())));
    } finally {
      restore();
    }
    for (const a of failed) t.equal(code(a), UNAVAILABLE, '254 while the store fails');
    for (const { dev } of closedShifts) {
      const answer = await dev.resend();
      t.equal(code(answer), OK, `then answered: ${text(answer)}`);
    }
  },
);
