// The ingest ceiling and the cost of a receipt by load (issue 12): the same fleet (200 registers
// on persistent connections, receipts of 1–5 lines, closed loop) against a bare server that
// frames, decodes and answers with no state and no storage (bench/fleet/bare-server.ts), and
// against the OFD as `npm start` runs it with the request limits off; then the OFD in an open
// loop at a quarter of the peak it reached. Prints receipts/s, p99 and server CPU per receipt
// of each, the durable/bare ratio (target ≥ 0.25), p99 at the peak (≤ 250 ms) and at a quarter
// (≤ 150 ms), and CPU per receipt at a quarter against the peak (≤ 1.5). Every receipt the OFD
// acknowledged is checked against its Z reports at the end.
//
//   npm run bench:ceiling [-- --devices=200 --seconds=15 --items=1-5 --json=FILE --spool=off,lmdb
//     --server-env=NAME=VALUE,...
//     --cpu-prof=DIR (the OFD server's V8 CPU profile)]
import { rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Fleet, type PhaseResult, type Target } from '../test/harness/index.js';
import { sampleProcess, sampleThreads } from '../test/harness/process-stats.js';
import { openDb } from '../src/storage/db.js';
import { benchArgs } from './fleet/args.js';
import { spawnBareServer } from './fleet/bare-server.js';
import { spawnServer, spawnedTarget } from './fleet/server-process.js';
import { cpuPerReceipt, fmt, phaseText, verifyText } from './fleet/report.js';

const args = benchArgs();
const DEVICES = Number(args.get('devices') ?? 200);
const SECONDS = Number(args.get('seconds') ?? 15);
const [minItems, maxItems] = (args.get('items') ?? '1-5').split('-').map(Number) as [
  number,
  number,
];
const common = { ticketItems: [minItems, maxItems] as [number, number], shifts: false };

interface Row {
  name: string;
  r: PhaseResult;
}
const rows: Row[] = [];
const phase = async (fleet: Fleet, name: string, rate?: number) => {
  const r = await fleet.runPhase({ name, mode: 'persistent', rate, durationS: SECONDS });
  console.log(`${phaseText(r)}\n  load average ${loadavg()[0]!.toFixed(1)}`);
  rows.push({ name, r });
  return r;
};

// 1. The bare server at its peak (and, after the OFD, at the OFD's quarter rate).
async function runBare(name: string, rate?: number): Promise<PhaseResult> {
  const bare = await spawnBareServer();
  try {
    const target: Target = {
      host: '127.0.0.1',
      tcpPort: bare.tcpPort,
      httpPort: 0,
      adminToken: '',
      sample: () => sampleProcess(bare.pid),
      threads: () => sampleThreads(bare.pid),
    };
    const fleet = new Fleet({
      ...common,
      tcpPort: bare.tcpPort,
      host: '127.0.0.1',
      devices: Array.from({ length: DEVICES }, (_, i) => ({ kkmId: i + 1, token: 1 })),
      storeless: true,
      ledger: false,
      answerTimeoutMs: 15_000,
      server: target,
    });
    await fleet.hello();
    const result = await phase(fleet, name, rate);
    fleet.close();
    return result;
  } finally {
    await bare.stop();
  }
}
const bareResult = await runBare('bare server: frame, decode, answer');

// 2. The OFD: its closed-loop peak, then a quarter of it offered in an open loop; once with
// commits straight into ClickHouse, once acknowledged from the spool (OFD_SPOOL=lmdb).
const SPOOLS = (args.get('spool') ?? 'off,lmdb').split(',');
// More of the server's environment, e.g. --server-env=OFD_BATCH_MAX_DELAY_MS=5,OFD_SPOOL_DRAIN_MS=500
const serverEnv = Object.fromEntries(
  (args.get('server-env') ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
let verified = true;
const modes: { spool: string; peak: PhaseResult; quarter: PhaseResult }[] = [];
for (const spool of SPOOLS) {
  const label = spool === 'off' ? 'OFD' : `OFD + spool (${spool})`;
  const server = await spawnServer({
    cpuProfDir: args.get('cpu-prof'),
    env: { ...serverEnv, OFD_SPOOL: spool },
  });
  let acknowledged = -1;
  try {
    const fleet = await Fleet.create(spawnedTarget(server), { ...common, devices: DEVICES });
    await fleet.hello();
    const before = await metricSamples(server.httpPort);
    const peak = await phase(fleet, `${label}, closed loop (peak)`);
    const afterPeak = await metricSamples(server.httpPort);
    console.log(commitText(before, afterPeak));
    const quarter = await phase(
      fleet,
      `${label}, open loop at 25% of the peak`,
      Math.max(1, Math.round(peak.receiptsPerSec / 4)),
    );
    console.log(commitText(afterPeak, await metricSamples(server.httpPort)));
    modes.push({ spool, peak, quarter });
    const verify = await fleet.verify();
    console.log(verifyText(verify));
    verified &&= verify.mismatchedDevices === 0 && verify.resendDifferent === 0;
    acknowledged = verify.acknowledged;
    fleet.close();
  } catch (error) {
    verified = false;
    console.error(error, `\nserver output:\n${server.tail()}`);
  } finally {
    // SIGTERM: a spool drains what it holds before the process exits.
    await server.stop({ keepData: true });
  }
  const stored = await storedTickets(server.dataDir);
  const exact = stored.rows === acknowledged && stored.keys === stored.rows;
  console.log(
    `${label}: ${stored.rows} ticket rows in ClickHouse (${stored.keys} distinct), ` +
      `${acknowledged} acknowledged: ${exact ? 'each stored once' : 'MISMATCH'}`,
  );
  verified &&= exact;
  rmSync(server.dataDir, { recursive: true, force: true });
}

/** Every sample of the server's /metrics, by series name and labels. */
async function metricSamples(httpPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const m of text.matchAll(/^(ofd_[a-z0-9_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/gm)) {
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

/** The group commits and spool drains between two readings: means, and the commits' p99. */
function commitText(a: Map<string, number>, b: Map<string, number>): string {
  const d = (name: string) => {
    let sum = 0;
    for (const [key, value] of b) {
      if (key === name || key.startsWith(`${name}{`)) sum += value - (a.get(key) ?? 0);
    }
    return sum;
  };
  const mean = (sum: number, n: number, scale = 1) => (n ? ((sum / n) * scale).toFixed(1) : '-');
  const commits = d('ofd_commit_batch_rows_count');
  const drains = d('ofd_spool_drain_rows_count');
  // The first bucket holding 99% of the phase's successful commits.
  const buckets = [...b.keys()]
    .filter(
      (key) => key.startsWith('ofd_commit_flush_seconds_bucket{') && key.includes('ok="true"'),
    )
    .map((key) => ({
      le: Number(/le="([^"]+)"/.exec(key)![1]),
      n: b.get(key)! - (a.get(key) ?? 0),
    }))
    .sort((x, y) => x.le - y.le);
  const all = buckets.at(-1)?.n ?? 0;
  const p99 = buckets.find((x) => x.n >= all * 0.99)?.le;
  // prom-client's event-loop delay figures cover the time since the last scrape: this phase.
  const lagMs = (name: string) =>
    ((b.get(`ofd_process_nodejs_eventloop_lag_${name}_seconds`) ?? NaN) * 1000).toFixed(1);
  const answers = d('ofd_ingest_answer_seconds_count');
  return (
    `  server: a frame answered in ${mean(d('ofd_ingest_answer_seconds_sum'), answers, 1000)} ms ` +
    `on average; event loop delay p50 ${lagMs('p50')} ms, p99 ${lagMs('p99')} ms, ` +
    `max ${lagMs('max')} ms\n` +
    `  ${commits} commits, ${mean(d('ofd_commit_batch_rows_sum'), commits)} rows and ` +
    `${mean(d('ofd_commit_flush_seconds_sum'), commits, 1000)} ms each` +
    (p99 !== undefined ? ` (p99 ≤ ${p99 * 1000} ms)` : '') +
    (drains
      ? `; ${drains} drains, ${mean(d('ofd_spool_drain_rows_sum'), drains)} rows and ` +
        `${mean(d('ofd_spool_drain_seconds_sum'), drains, 1000)} ms each`
      : '')
  );
}

/** Ticket rows in a stopped server's embedded store, and their distinct (kkm_id, doc_seq). */
async function storedTickets(dataDir: string): Promise<{ rows: number; keys: number }> {
  const db = openDb({ dataDir, readSessions: 0 });
  try {
    const [row] = await db.rows<{ rows: number; keys: number }>(
      `SELECT count() AS rows, uniqExact(kkm_id, doc_seq) AS keys
       FROM documents WHERE doc_type = 'ticket'`,
    );
    return row!;
  } finally {
    await db.close();
  }
}

// The floor of what a receipt costs at a low rate: the bare server, offered the same open loop
// as the OFD's quarter (one event, one read and one write per receipt, nothing to share them).
const lastQuarter = modes.at(-1)?.quarter;
const bareQuarter = lastQuarter
  ? await runBare(
      'bare server, open loop at the OFD quarter rate',
      lastQuarter.offeredRate ?? undefined,
    )
  : undefined;

const table = [
  '| run | receipts/s | p50 ms | p99 ms | server CPU % | CPU ms / receipt |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    ({ name, r }) =>
      `| ${name} | ${fmt(r.receiptsPerSec)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${fmt(r.serverCpuPct)} | ${fmt(cpuPerReceipt(r), 3)} |`,
  ),
];
console.log(`\n${DEVICES} registers, receipts of ${minItems}–${maxItems} lines, ${SECONDS} s each`);
console.log(table.join('\n'));
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
for (const { spool, peak, quarter } of modes) {
  const ratio = peak.receiptsPerSec / bareResult.receiptsPerSec;
  const cost = (cpuPerReceipt(quarter) ?? NaN) / (cpuPerReceipt(peak) ?? NaN);
  console.log(
    [
      `spool ${spool}:`,
      `  durable / bare receipts/s: ${ratio.toFixed(3)} (target ≥ 0.25: ${verdict(ratio >= 0.25)})`,
      `  p99 at the peak: ${fmt(peak.p99Ms, 1)} ms (≤ 250: ${verdict(peak.p99Ms <= 250)}); ` +
        `at a quarter: ${fmt(quarter.p99Ms, 1)} ms (≤ 150: ${verdict(quarter.p99Ms <= 150)})`,
      `  CPU per receipt at a quarter / at the peak: ${cost.toFixed(2)} (≤ 1.5: ${verdict(cost <= 1.5)})`,
    ].join('\n'),
  );
}
if (bareQuarter) {
  const bareCost = (cpuPerReceipt(bareQuarter) ?? NaN) / (cpuPerReceipt(bareResult) ?? NaN);
  console.log(`bare server, CPU per receipt at that rate / at its peak: ${bareCost.toFixed(2)}`);
}
console.log(`stored = acknowledged: ${verified ? 'verified' : 'FAILED'}`);
if (args.has('json')) {
  writeFileSync(
    args.get('json')!,
    JSON.stringify(
      rows.map(({ r }) => ({ ...r, stats: undefined })),
      null,
      2,
    ),
  );
}
process.exit(verified ? 0 : 1);
