// A multi-process node (OFD_INGEST_PROCESSES=2, as `npm start` runs it): registers over TCP are
// served by two child processes whose documents reach the server process's ClickHouse and
// group commit over IPC. Receipts are acknowledged and stored exactly once; /metrics counts
// both processes' answers and connections; an ingest process killed with -9 is replaced while
// the registers carry on (their resends get the stored answers); the server process killed with
// -9 takes its ingest processes with it; SIGTERM exits 0.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import t from 'tap';
import { Redis } from 'ioredis';
import type { RunningServer } from '../../src/app/server.js';
import {
  ChildServer,
  Fleet,
  OK,
  checkLedger,
  newDeployment,
  openDeployment,
  registerDevices,
  sleep,
} from '../harness/index.js';
import { deleteKeys } from '../harness/redis-keys.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const d = await newDeployment(redisUrl, { OFD_INGEST_PROCESSES: '2' });
let child = await ChildServer.start(d);
const devices = await registerDevices(d, 8);
const fleet = new Fleet({ tcpPort: d.tcpPort, devices, seed: 11 });
let inProcess: RunningServer | null = null;

t.teardown(async () => {
  fleet.close();
  await child.kill9();
  await inProcess?.close();
  const redis = new Redis(redisUrl);
  await deleteKeys(redis, d.prefix);
  redis.disconnect();
  rmSync(d.dataDir, { recursive: true, force: true });
});

/** The server process's ingest processes, from /proc (tsx's esbuild service is a child too). */
const ingestPids = (): number[] => {
  const pid = child.proc.pid!;
  return readdirSync(`/proc/${pid}/task`)
    .flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(' ').filter(Boolean),
    )
    .map(Number)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node';
      } catch {
        return false; // ended meanwhile
      }
    });
};

const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
};

t.test('two ingest processes answer the fleet', async (t) => {
  t.equal(ingestPids().length, 2, 'two child processes');
  fleet.start();
  await fleet.waitForAcks(40);
  t.equal(await metric('ofd_tcp_connections'), 8, "both processes' connections counted");
  const answered = await metric('ofd_ingest_answers_total');
  t.ok(answered >= 40, `${answered} answers counted across the processes`);
});

t.test('an ingest process killed with -9 is replaced; registers carry on', async (t) => {
  const [victim, survivor] = ingestPids();
  process.kill(victim!, 'SIGKILL');
  const before = fleet.stats.acked;
  await fleet.waitForAcks(40);
  t.pass(`${fleet.stats.acked - before} receipts acknowledged after the kill`);
  let pids = ingestPids();
  for (const end = Date.now() + 20_000; pids.length < 2 && Date.now() < end; pids = ingestPids()) {
    await sleep(100);
  }
  t.equal(pids.length, 2, 'two ingest processes again');
  t.ok(pids.includes(survivor!) && !pids.includes(victim!), 'the dead one was replaced');
  t.equal(child.unexpectedExit, null, 'the server process stayed up');
});

t.test(
  'the server process killed with -9: its ingest processes go too; a restart resumes',
  async (t) => {
    const orphans = ingestPids();
    await child.kill9();
    const gone = (pid: number) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    for (const end = Date.now() + 10_000; !orphans.every(gone) && Date.now() < end;)
      await sleep(50);
    t.ok(orphans.every(gone), 'no ingest process outlives the server process');
    child = await ChildServer.start(d);
    const before = fleet.stats.acked;
    await fleet.waitForAcks(40);
    t.pass(`${fleet.stats.acked - before} receipts acknowledged after the restart`);
  },
);

t.test('SIGTERM stops the children and the server process', async (t) => {
  await fleet.stop();
  const s = fleet.stats;
  t.equal(s.gaveUp, 0, 'every receipt was answered in the end');
  t.same(s.unexpected, [], 'nothing refused');
  t.equal(s.resendDifferent, 0, 'resends after the kill got identical answers');
  const pids = ingestPids();
  t.same(await child.terminate(), { code: 0, signal: null }, 'exit 0');
  for (const pid of pids) {
    t.throws(() => process.kill(pid, 0), `ingest process ${pid} is gone too`);
  }
});

t.test('what was stored', async (t) => {
  inProcess = await openDeployment(d, { OFD_ROLES: 'ingest', OFD_INGEST_PROCESSES: '0' });
  t.same(
    await fleet.oneMoreEach(),
    devices.map(() => OK),
    'every register goes on',
  );
  const ledger = await checkLedger(inProcess.db, fleet.acked());
  t.ok(ledger.acked > 80, `${ledger.acked} receipts acknowledged`);
  t.same(ledger.lost, [], 'no acknowledged receipt is missing');
  t.same(ledger.duplicated, [], 'none is stored twice (counted without FINAL)');
  t.same(ledger.unacknowledged, [], 'nothing stored that was not acknowledged');
  t.ok(ledger.finalMatches, 'the logical rows are the acknowledged receipts, in order');
});
