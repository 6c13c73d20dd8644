// The fleet monitors: a KKM that goes quiet and comes back, and a shift open past the warning
// time and past the limit; each raises its notification once, also on the live feed.
import t from 'tap';
import type { LiveEvent } from '../../src/telemetry/live-feed.js';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { Notifications } from '../../src/storage/notifications.js';
import { startWatchedServer, waitFor } from '../helpers/workers.js';

const { server, feed } = await startWatchedServer(t, {
  OFD_KKM_OFFLINE_MS: '1000',
  OFD_MONITOR_INTERVAL_MS: '3600000',
  OFD_RECONCILE_SWEEP_MS: '3600000',
});
const notifications = new Notifications(server.db);
const kindsOf = async (orgId: number, kkmId: number) =>
  (await notifications.list(orgId, 31, 'all'))
    .filter((n) => n.kkmId === kkmId && n.kind !== 'kkm_token_issued')
    .map((n) => n.kind)
    .sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a KKM that goes quiet, and comes back', async (t) => {
  const kkm = await server.registerKkm();
  const live: LiveEvent[] = [];
  t.teardown(await feed.subscribe(kkm.orgId, (e) => live.push(e)));
  const dev = server.tcpDevice(kkm);
  t.equal((await dev.send(requests.system())).response.result.result_code, 0);
  const tasks = server.workers!.tasks;
  t.same(await tasks.presence(), { offline: 0, back: 0 }, 'heard from just now');

  await sleep(1300);
  t.same(await tasks.presence(), { offline: 1, back: 0 }, 'quiet for longer than allowed');
  t.same(await tasks.presence(), { offline: 0, back: 0 }, 'reported once');
  t.same(await kindsOf(kkm.orgId, kkm.kkmId), ['kkm_offline']);

  t.equal((await dev.send(requests.system())).response.result.result_code, 0);
  t.same(await tasks.presence(), { offline: 0, back: 1 }, 'back in contact');
  t.same(await kindsOf(kkm.orgId, kkm.kkmId), ['kkm_offline', 'kkm_online']);
  await waitFor('live notifications', async () =>
    live.filter((e) => e.type === 'notification').length >= 2 ? true : null,
  );
  t.same(
    live.filter((e) => e.type === 'notification').map((e) => e.kind),
    ['kkm_offline', 'kkm_online'],
  );
});

t.test('a shift open past 23 h warns, past 24 h alerts, once each', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  const rnd = seededRandom(5);
  const now = Date.now();
  const send = async (at: number, offlineNumber?: number) => {
    const a = await dev.send(
      requests.ticket(ticket(rnd, { at: new Date(at), items: 1, offlineNumber })),
    );
    t.equal(a.response.result.result_code, 0, a.response.result.result_text ?? 'ok');
  };
  const tasks = server.workers!.tasks;
  await send(now - 23.5 * 3_600_000);
  t.same(await tasks.shifts(), { warned: 0, expired: 0 }, 'just opened, by the device clock');
  await send(now);
  t.same(await tasks.shifts(), { warned: 1, expired: 0 }, 'open 23.5 h');
  t.same(await tasks.shifts(), { warned: 0, expired: 0 }, 'warned once');
  // Offline receipts are accepted past the limit; the shift is now open 24.5 h.
  await send(now + 3_600_000, 77);
  t.same(await tasks.shifts(), { warned: 0, expired: 1 }, 'past the limit');
  t.same(await tasks.shifts(), { warned: 0, expired: 0 }, 'alerted once');
  const list = (await notifications.list(kkm.orgId, 31, 'all')).filter(
    (n) => n.kkmId === kkm.kkmId && n.kind.startsWith('shift_'),
  );
  t.same(list.map((n) => n.kind).sort(), ['shift_open_expired', 'shift_open_warning']);
  t.match(list.find((n) => n.kind === 'shift_open_expired')!.detail, {
    shiftNumber: 1,
    limitHours: 24,
  });
});
