// The fault soak (`npm run bench:soak`): the server as `npm start` runs it (a child process,
// every role) under a simulated fleet, while faults are injected one after another:
//   - SOAK_KILLS (default 20) kill -9 of the server at random moments, each followed by a
//     restart on the same DATA_DIR and Redis prefix;
//   - SOAK_CRASH_POINTS (default 6) deaths at the crash points of a fiscal request
//     (OFD_CRASH_AT: before the commit, after it, after the state release) on the n-th request;
//   - SOAK_REDIS_RESTARTS (default 3) Redis shut down without saving and started again empty;
//   - one Redis outage of SOAK_REDIS_OUTAGE_MS (default 10,000 ms).
// Registers (SOAK_DEVICES, default 40) send receipts continuously over TCP and resend a request
// they got no answer (or 254) to, unchanged, on a new connection, until it is answered. At the
// end every register sends one more receipt, the server is stopped with SIGTERM, and the data
// directory is opened here: every acknowledged receipt must be stored exactly once (counted
// without FINAL), and nothing stored that was not acknowledged. Exit code 1 otherwise.
// SOAK_SEED makes the fault moments repeatable.
import { rmSync } from 'node:fs';
import { openDb } from '../src/storage/db.js';
import { seededRandom } from '../src/sim/documents.js';
import {
  ChildServer,
  Fleet,
  OK,
  PrivateRedis,
  UNAVAILABLE,
  checkLedger,
  newDeployment,
  registerDevices,
  sleep,
  type Attempt,
} from '../test/harness/index.js';

const int = (name: string, fallback: number) => {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${raw}: expected an integer ≥ 0`);
  return n;
};
const KILLS = int('SOAK_KILLS', 20);
const CRASH_POINTS = int('SOAK_CRASH_POINTS', 6);
const REDIS_RESTARTS = int('SOAK_REDIS_RESTARTS', 3);
const OUTAGE_MS = int('SOAK_REDIS_OUTAGE_MS', 10_000);
const DEVICES = int('SOAK_DEVICES', 40);
const SEED = int('SOAK_SEED', Math.floor(Math.random() * 1e6));
const POINTS = ['before-commit', 'after-commit', 'after-release'] as const;

type Fault =
  | { kind: 'kill' }
  | { kind: 'crash-point'; point: (typeof POINTS)[number] }
  | { kind: 'redis-restart' }
  | { kind: 'redis-outage' };

const random = seededRandom(SEED);
const began = performance.now();
const elapsed = () => `${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s`;

// The faults in a random order, the outage somewhere in the middle.
const faults: Fault[] = [
  ...Array.from({ length: KILLS }, (): Fault => ({ kind: 'kill' })),
  ...Array.from({ length: CRASH_POINTS }, (_, i): Fault => ({
    kind: 'crash-point',
    point: POINTS[i % POINTS.length]!,
  })),
  ...Array.from({ length: REDIS_RESTARTS }, (): Fault => ({ kind: 'redis-restart' })),
];
for (let i = faults.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [faults[i], faults[j]] = [faults[j]!, faults[i]!];
}
faults.splice(Math.floor(faults.length / 2), 0, { kind: 'redis-outage' });

console.log(
  `soak: ${DEVICES} registers; ${KILLS} kill -9, ${CRASH_POINTS} crash-point deaths, ` +
    `${REDIS_RESTARTS} empty Redis restarts, a ${OUTAGE_MS / 1000} s Redis outage ` +
    `(SOAK_SEED=${SEED})`,
);
const redis = await PrivateRedis.start();
const d = await newDeployment(redis.url, { OFD_DEVICE_LEASE_MS: '1000' });
let child = await ChildServer.start(d);
const starts: number[] = [child.startedMs];
const devices = await registerDevices(d, DEVICES);
const outageAttempts: Attempt[] = [];
let outage: { from: number; to: number } | null = null;
const fleet = new Fleet({
  tcpPort: d.tcpPort,
  devices,
  seed: SEED,
  thinkMs: [20, 120],
  giveUpMs: 120_000,
  onAttempt: (a) => {
    if (outage && a.sentAt >= outage.from) outageAttempts.push(a);
  },
});

let killsSurvived = 0;
let crashPointDeaths = 0;
let redisRestarts = 0;
let outages = 0;
const unexpectedDeaths: string[] = [];
let failed = false;

try {
  fleet.start();
  await fleet.waitForAcks(50, 60_000);
  for (const fault of faults) {
    const before = fleet.stats.acked;
    if (fault.kind === 'kill') {
      await sleep(500 + random() * 3500);
      if (child.unexpectedExit) unexpectedDeaths.push(child.output());
      await child.kill9();
      child = await ChildServer.start(d);
      starts.push(child.startedMs);
      await fleet.waitForAcks(20, 60_000);
      killsSurvived++;
    } else if (fault.kind === 'crash-point') {
      // Restart with the crash point armed for the n-th fiscal request, wait for the death.
      await sleep(200 + random() * 1000);
      await child.kill9();
      const nth = 5 + Math.floor(random() * 60);
      child = await ChildServer.start(d, { env: { OFD_CRASH_AT: `${fault.point}:${nth}` } });
      const exit = await Promise.race([child.exited, sleep(60_000).then(() => null)]);
      if (!exit || exit.signal !== 'SIGKILL') {
        unexpectedDeaths.push(`crash point ${fault.point}:${nth} not reached: ${child.output()}`);
        await child.kill9();
      } else crashPointDeaths++;
      child = await ChildServer.start(d);
      starts.push(child.startedMs);
      await fleet.waitForAcks(20, 60_000);
    } else if (fault.kind === 'redis-restart') {
      await sleep(500 + random() * 2000);
      await redis.shutdownNoSave();
      await redis.up();
      await fleet.waitForAcks(20, 60_000);
      redisRestarts++;
    } else {
      await sleep(500 + random() * 2000);
      await redis.kill();
      outage = { from: performance.now(), to: Infinity };
      await sleep(OUTAGE_MS);
      outage.to = performance.now();
      await redis.up();
      await fleet.waitForAcks(20, 60_000);
      outages++;
    }
    console.log(
      `${elapsed()}  ${fault.kind}${'point' in fault ? ` (${fault.point})` : ''}: ` +
        `${before} → ${fleet.stats.acked} receipts acknowledged`,
    );
    if (child.unexpectedExit) unexpectedDeaths.push(child.output());
  }
  await fleet.stop();
  const more = await fleet.oneMoreEach();
  const lockedOut = more.filter((c) => c !== OK).length;
  const exit = await child.terminate();
  fleet.close();

  const db = openDb({ dataDir: d.dataDir });
  const ledger = await checkLedger(db, fleet.acked());
  await db.close();

  const during = outage
    ? outageAttempts.filter((a) => a.at <= outage!.to && a.sentAt >= outage!.from)
    : [];
  const duringCodes: Record<string, number> = {};
  for (const a of during) duringCodes[String(a.code)] = (duringCodes[String(a.code)] ?? 0) + 1;
  const s = fleet.stats;
  const injected = killsSurvived + crashPointDeaths + redisRestarts + outages;
  const otherCodes = Object.keys(s.codes).filter(
    (c) => Number(c) !== OK && Number(c) !== UNAVAILABLE,
  );
  const median = [...starts].sort((a, b) => a - b)[Math.floor(starts.length / 2)];
  const rows: [string, string | number][] = [
    ['kills survived (kill -9 at random moments)', killsSurvived],
    ['deaths at crash points survived', crashPointDeaths],
    ['Redis restarted empty', redisRestarts],
    [`Redis outages of ${OUTAGE_MS / 1000} s`, outages],
    ['faults injected', injected],
    ['server starts (median time)', `${starts.length} (${median} ms)`],
    ['receipts acknowledged', ledger.acked],
    ['receipts lost', ledger.lost.length],
    ['receipts duplicated (counted without FINAL)', ledger.duplicated.length],
    ['document numbers with two rows', ledger.duplicateSeqs],
    ['stored but never acknowledged', ledger.unacknowledged.length],
    ['logical rows = acknowledged, in order', ledger.finalMatches ? 'yes' : 'NO'],
    ['receipts that needed resends', s.retried],
    ['resends compared: identical / different', `${s.resendIdentical} / ${s.resendDifferent}`],
    ['attempts unanswered / answered 254', `${s.noAnswer} / ${s.unavailable}`],
    ['answers other than OK and 254', otherCodes.length ? otherCodes.join(', ') : 'none'],
    ['answers while Redis was down', JSON.stringify(duringCodes)],
    ['registers locked out afterwards', lockedOut],
    ['receipts given up', s.gaveUp],
    ['server deaths we did not cause', unexpectedDeaths.length],
    ['SIGTERM at the end', exit ? `exit ${exit.code ?? exit.signal}` : 'still running after 30 s'],
  ];
  console.log(`\nsoak results (${elapsed().trim()}, SOAK_SEED=${SEED})`);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(46)} ${value}`);
  for (const out of unexpectedDeaths) console.log(`--- unexpected death ---\n${out}`);
  failed =
    ledger.lost.length > 0 ||
    ledger.duplicated.length > 0 ||
    ledger.duplicateSeqs > 0 ||
    ledger.unacknowledged.length > 0 ||
    !ledger.finalMatches ||
    s.resendDifferent > 0 ||
    otherCodes.length > 0 ||
    Object.keys(duringCodes).some((c) => c !== String(UNAVAILABLE)) ||
    lockedOut > 0 ||
    s.gaveUp > 0 ||
    unexpectedDeaths.length > 0 ||
    exit?.code !== 0;
} catch (error) {
  failed = true;
  console.error(error);
  console.error(child.output());
} finally {
  fleet.close();
  await child.kill9();
  await redis.close();
  rmSync(d.dataDir, { recursive: true, force: true });
}
console.log(failed ? '\nsoak FAILED' : '\nsoak passed');
process.exit(failed ? 1 : 0);
