// `npm run bench`: the standard benchmark set, sized for a 2-core machine and a few minutes,
// every figure from this one run. Writes bench/RESULTS.md (machine, date, commit, the table,
// the targets), bench/results-chart.svg (throughput and p99 against offered load) and
// bench/results.json (everything measured).
//
//   npm run bench [-- --devices=1000] [--quick] [--cpu-prof=DIR]
//
// 0. the machine's loopback ceiling: a trivial TCP server (bench/loopback.ts) answering the
//    same traffic shapes, persistent and a connection per request;
// 1. no-op baseline: the same frames answered by the same server with OFD_STORE=noop
//    (decode, check, answer; nothing stored), closed loop, persistent connections;
// 2. durable: closed loop on persistent connections; an open-loop sweep of offered rates around
//    the measured peak; closed loop with a connection per request (a few registers drop offline
//    and upload a burst); the end-of-run check of stored against acknowledged receipts;
//    2b. the closed loop again on a node with two ingest processes (OFD_INGEST_PROCESSES=2);
// 3. one insert per request (OFD_BATCH_MAX_ROWS=1) against group commit, the same registers;
//    and the writer-only micro-benchmark (bench/group-commit.ts) for the same comparison;
// 4. idle connections, up to 50,000, on a node with three ingest processes.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { idleConnections, type IdleResult } from './fleet/idle.js';
import { cpuPerReceipt, codesText, fmt, phaseText, verifyText } from './fleet/report.js';
import { ROOT, spawnServer, type ServerProcess, spawnedTarget } from './fleet/server-process.js';
import { Fleet, type PhaseResult, type VerifyResult } from '../test/harness/index.js';
import { chartSvg } from './fleet/chart.js';
import { loopbackCeiling } from './loopback.js';
import { benchArgs } from './fleet/args.js';

const args = benchArgs();
const quick = args.has('quick');
const DEVICES = Number(args.get('devices') ?? (quick ? 200 : 1000));
// The one-insert server refuses rows beyond 50 waiting (its pending limit is 50 × the batch
// size), so the comparison runs with fewer registers than that on both servers.
const SMALL_FLEET = Math.min(48, DEVICES);
const T = quick
  ? { main: 6, perRequest: 5, sweep: 4, single: 5, warmup: 1 }
  : { main: 15, perRequest: 12, sweep: 7, single: 8, warmup: 2 };
const SWEEP = [0.25, 0.5, 0.8, 1.0, 1.25, 1.5];
const IDLE_TARGET = 50_000;
const INGEST_PROCESSES = 2;
const cpuProfDir = args.get('cpu-prof');

const runStarted = Date.now();
const loadStart = loadavg();
const log = (text: string) => console.log(text);
const elapsed = () => `${Math.round((Date.now() - runStarted) / 1000)} s`;

function git(...a: string[]): string {
  try {
    return execFileSync('git', a, { cwd: ROOT }).toString().trim();
  } catch {
    return '';
  }
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: totalmem() / 2 ** 30,
  node: process.version,
  kernel: release(),
  commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
  dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
  date: new Date().toISOString(),
};

interface Stage {
  label: string;
  result: PhaseResult;
}
const stages: Stage[] = [];
const verifications: { label: string; v: VerifyResult }[] = [];
const hellos: { label: string; devices: number; seconds: number }[] = [];

async function withServer<T>(
  label: string,
  opts: Parameters<typeof spawnServer>[0],
  fn: (s: ServerProcess) => Promise<T>,
): Promise<T> {
  log(`\n## ${label} (${elapsed()})`);
  const server = await spawnServer(opts);
  try {
    return await fn(server);
  } catch (error) {
    console.error(`server output:\n${server.tail()}`);
    throw error;
  } finally {
    await server.stop();
  }
}

async function fleetOn(server: ServerProcess, label: string, devices: number, storeless = false) {
  const fleet = await Fleet.create(spawnedTarget(server), { devices, storeless });
  const seconds = await fleet.hello();
  hellos.push({ label, devices, seconds });
  log(`${devices} registers registered; first contact (INFO) took ${seconds.toFixed(1)} s`);
  return fleet;
}

async function phase(fleet: Fleet, label: string, p: Parameters<Fleet['runPhase']>[0]) {
  const result = await fleet.runPhase({ warmupS: T.warmup, ...p });
  stages.push({ label, result });
  log(phaseText(result));
  return result;
}

// ---- 0. the machine's loopback ceiling ------------------------------------------------------
log(`\n## loopback ceiling: a trivial TCP server, the same traffic shapes (${elapsed()})`);
const ceiling = await loopbackCeiling(quick ? 3 : 5, DEVICES, 256);
log(
  `persistent: ${fmt(ceiling.persistentPerSec)} exchanges/s; a connection per request: ${fmt(ceiling.perRequestPerSec)}/s`,
);

// ---- 1. no-op baseline ----------------------------------------------------------------------
const noop = await withServer('no-op store baseline', { store: 'noop' }, async (server) => {
  const fleet = await fleetOn(server, 'no-op', DEVICES, true);
  const r = await phase(fleet, 'no-op store, persistent, closed loop', {
    name: 'no-op closed loop',
    mode: 'persistent',
    durationS: T.main,
  });
  fleet.close();
  return r;
});

// ---- 2. durable -----------------------------------------------------------------------------
const durable = await withServer(
  'durable (embedded ClickHouse, group commit)',
  { cpuProfDir },
  async (server) => {
    const fleet = await fleetOn(server, 'durable', DEVICES);
    const closed = await phase(fleet, 'durable, persistent, closed loop', {
      name: 'durable closed loop',
      mode: 'persistent',
      durationS: T.main,
    });
    const peak = closed.receiptsPerSec;
    const sweep: PhaseResult[] = [];
    for (const f of SWEEP) {
      const rate = Math.max(10, Math.round((peak * f) / 10) * 10);
      sweep.push(
        await phase(fleet, `durable, persistent, open loop ${Math.round(f * 100)}% of peak`, {
          name: `open loop ${rate}/s`,
          mode: 'persistent',
          rate,
          durationS: T.sweep,
          warmupS: 1,
        }),
      );
    }
    const grouped = await phase(fleet, `durable, group commit, ${SMALL_FLEET} registers`, {
      name: `group commit ${SMALL_FLEET} registers`,
      mode: 'persistent',
      durationS: T.single,
      devices: SMALL_FLEET,
    });
    // Last: its offline bursts make the workers reconcile those registers' uploads a little
    // later, which should not land in the sweep.
    const perRequest = await phase(
      fleet,
      'durable, connection per request, closed loop, 5% offline bursts',
      {
        name: 'per-request closed loop',
        mode: 'per-request',
        durationS: T.perRequest,
        offlineFraction: 0.05,
      },
    );
    log(`\nverifying (${elapsed()})`);
    const v = await fleet.verify();
    verifications.push({ label: 'durable server', v });
    log(verifyText(v));
    fleet.close();
    return { closed, perRequest, sweep, grouped, peak };
  },
);

// ---- 2b. the same machine as a multi-process node -------------------------------------------
const multi = await withServer(
  `durable, ${INGEST_PROCESSES} ingest processes (OFD_INGEST_PROCESSES=${INGEST_PROCESSES})`,
  { env: { OFD_INGEST_PROCESSES: String(INGEST_PROCESSES) } },
  async (server) => {
    const fleet = await fleetOn(server, `${INGEST_PROCESSES} ingest processes`, DEVICES);
    const r = await phase(
      fleet,
      `durable, ${INGEST_PROCESSES} ingest processes, persistent, closed loop`,
      { name: 'ingest processes closed loop', mode: 'persistent', durationS: T.main },
    );
    const v = await fleet.verify();
    verifications.push({ label: `${INGEST_PROCESSES}-process server`, v });
    log(verifyText(v));
    fleet.close();
    return r;
  },
);

// ---- 3. one insert per request --------------------------------------------------------------
const single = await withServer(
  'one insert per request (OFD_BATCH_MAX_ROWS=1)',
  { env: { OFD_BATCH_MAX_ROWS: '1', OFD_BATCH_MAX_DELAY_MS: '0' } },
  async (server) => {
    const fleet = await fleetOn(server, 'one insert per request', SMALL_FLEET);
    const r = await phase(fleet, `durable, one insert per request, ${SMALL_FLEET} registers`, {
      name: 'one insert per request',
      mode: 'persistent',
      durationS: T.single,
    });
    const v = await fleet.verify();
    verifications.push({ label: 'one-insert server', v });
    log(verifyText(v));
    fleet.close();
    return r;
  },
);

interface GroupCommitMicro {
  devices: number;
  seconds: number;
  results: { name: string; rowsPerSec: number; p50: number; p99: number; rowsPerInsert: number }[];
}
log(`\n## writer-only group commit micro-benchmark (${elapsed()})`);
const micro = await new Promise<GroupCommitMicro | null>((resolve) => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/group-commit.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      BENCH_SECONDS: quick ? '2' : '4',
      BENCH_SETTINGS: '0,2',
      BENCH_JSON: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.on('exit', () => {
    const line = out.trim().split('\n').pop() ?? '';
    log(out.trim().split('\n').slice(0, -1).join('\n'));
    try {
      resolve(JSON.parse(line) as GroupCommitMicro);
    } catch {
      resolve(null);
    }
  });
});

// ---- 4. idle connections --------------------------------------------------------------------
// One process may hold only RLIMIT_NOFILE connections (20,000 on these machines, a hard limit),
// so the server runs with enough ingest processes for the target; the idle timeout is raised
// so that connections opened first (opening 50,000 on loopback here takes ~2 minutes) are
// still open when the last one is.
const IDLE_PROCESSES = 3;
const idle = await withServer(
  'idle connections',
  { env: { OFD_INGEST_PROCESSES: String(IDLE_PROCESSES), OFD_IDLE_TIMEOUT_MS: '900000' } },
  async (server) => {
    const r = await idleConnections(server, IDLE_TARGET, (n, total) => {
      if (n === total || n % 4096 < 256) process.stdout.write(`\r  ${n}/${total} connected`);
    });
    log('');
    log(
      `held ${fmt(r.held)} idle connections in ${server.tcpProcesses()} ingest processes (asked ${fmt(r.asked)}, limits allowed ${fmt(r.attempted)}; server RLIMIT_NOFILE ${fmt(r.serverFdLimit)}), ` +
        `RSS ${fmt(r.rssBeforeMb)} → ${fmt(r.rssAfterMb)} MiB (+${fmt(r.rssGrowthMb)} MiB, ${fmt(r.kibPerConnection, 1)} KiB each; ${fmt(r.growthAt50kMb)} MiB at 50,000)`,
    );
    return { ...r, processes: server.tcpProcesses() };
  },
);

// ---- report ---------------------------------------------------------------------------------
const loadEnd = loadavg();
const totalSeconds = (Date.now() - runStarted) / 1000;
const sweepPoints = durable.sweep.map((r) => ({
  offered: r.offeredRate ?? 0,
  achieved: r.receiptsPerSec,
  p99: r.p99Ms,
}));
writeFileSync(
  join(ROOT, 'bench', 'results-chart.svg'),
  chartSvg(sweepPoints, {
    title: `Durable ingest, ${DEVICES} registers, persistent connections, open loop`,
    subtitle: `${machine.cores} × ${machine.cpu}, ${machine.date.slice(0, 10)}, ${machine.commit}`,
    peak: durable.peak,
    p99Target: 50,
  }),
);

const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
const throughputRatio = ratio(durable.closed.receiptsPerSec, noop.receiptsPerSec);
const cpuRatio = ratio(cpuPerReceipt(noop) ?? NaN, cpuPerReceipt(durable.closed) ?? NaN);
const at80 = durable.sweep[SWEEP.indexOf(0.8)]!;
const gcSpeedup = ratio(durable.grouped.receiptsPerSec, single.receiptsPerSec);
const microBase = micro?.results[0]?.rowsPerSec ?? NaN;
const microGroup = micro?.results[1]?.rowsPerSec ?? NaN;
const allVerified = verifications.every(
  ({ v }) => v.mismatchedDevices === 0 && v.zMismatches === 0 && v.resendDifferent === 0,
);
const yes = (ok: boolean) => (ok ? '**met**' : '**missed**');
// Receipts/s move with whatever else the machine runs; CPU per receipt does not: both are shown,
// and the target counts as met only when both say so.
const ratioVerdict =
  throughputRatio >= 0.6 && cpuRatio >= 0.6
    ? '**met**'
    : throughputRatio >= 0.6
      ? '**missed** by CPU per receipt (met by receipts/s only)'
      : cpuRatio >= 0.6
        ? '**missed** by receipts/s (met by CPU per receipt)'
        : '**missed**';

const rows = stages.map(({ label, result: r }) => {
  const load = r.loop === 'open' ? `open, ${fmt(r.offeredRate)}/s` : 'closed';
  return `| ${label} | ${r.devices} | ${load} | ${fmt(r.receiptsPerSec)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${fmt(r.p999Ms, 1)} | ${fmt(r.stats.errors)} | ${fmt(r.serverCpuPct)} | ${fmt(cpuPerReceipt(r), 3)} | ${fmt(r.serverRssPeakMb)} |`;
});
const errorLines = stages
  .filter(({ result }) => result.stats.errors > 0 || result.notSent > 0)
  .map(
    ({ label, result }) =>
      `- ${label}: ${codesText(result.stats)}${result.notSent ? `; ${fmt(result.notSent)} due receipts found no free register before the end` : ''}`,
  );
const threadLines = stages.map(({ label, result }) => {
  const t = Object.entries(result.serverThreadsPct).sort((a, b) => b[1] - a[1]);
  return `| ${label} | ${fmt(result.serverCpuPct)}: ${t.map(([g, p]) => `${g} ${fmt(p)}`).join(', ')} | ${fmt(result.redisCpuPct)} | ${fmt(result.clientCpuPct)} | ${fmt(result.otherCpuPct)} | ${fmt(result.machineCpuPct)} |`;
});
const retryLines = stages.map(({ label, result: { stats: s } }) => {
  return `| ${label} | ${s.lostAnswers} | ${s.resendIdentical} | ${s.resendDifferent} | ${s.resends} | ${s.offlineBursts} (${s.offlineReceipts}) | ${s.shiftsClosed} | ${s.zMismatches} |`;
});

const notesPath = join(ROOT, 'bench', 'results-notes.md');
const notes = existsSync(notesPath) ? readFileSync(notesPath, 'utf8').trim() : '';

const md = `# Benchmark results

Written by \`npm run bench\` (bench/run-all.ts); every figure below comes from one run on one
machine. The machines are shared and noisy, so the ratios between figures of the same run are the
figures to compare across machines; the CPU milliseconds per receipt are the least disturbed by
other work on the machine.

- **Machine:** ${machine.cores} × ${machine.cpu}, ${fmt(machine.memoryGiB, 1)} GiB memory, Linux ${machine.kernel}, Node ${machine.node}
- **Date:** ${machine.date}; the whole run took ${fmt(totalSeconds)} s
- **Commit:** ${machine.commit}${machine.dirty ? ' with uncommitted changes' : ''}
- **Load average** (1/5/15 min) at the start ${loadStart.map((x) => x.toFixed(1)).join(' / ')}, at the end ${loadEnd.map((x) => x.toFixed(1)).join(' / ')} (other work on the machine)
- **Set-up:** server = \`node --max-semi-space-size=64 --import tsx src/main.ts\` as a child process (embedded ClickHouse via chDB, local Redis; the per-device and per-address request limits off, since every simulated register connects from 127.0.0.1 and sends far faster than a real one), the simulator in the parent process on the same machine; ${DEVICES} registers (${SMALL_FLEET} for the one-insert comparison), receipts of 1–20 lines (VAT and tax-free), cash/card/mobile/split payments, 3% returns, an opening float per shift, occasional withdrawals, a shift closure every 150–400 receipts with the register's own Z report, 0.2% of answers "lost" and the same frame resent.

## Figures

| Run | Registers | Load | Receipts/s | p50 ms | p99 ms | p999 ms | Errors | Server CPU % | Server CPU ms / receipt | Server RSS peak MiB |
| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Latency is measured by the register from writing the request (in the open loop: from when the
receipt was due, so queueing is counted) to the complete answer, per answer, in an HdrHistogram.
Server CPU is user + system time of the server process (its JavaScript thread, libuv and V8
helpers and the embedded ClickHouse's threads) from /proc, over the measured seconds.

![Throughput and p99 against offered load](results-chart.svg)

## Targets

| Target | Measured | |
| --- | --- | --- |
| Durable ingest ≥ 60% of the no-op baseline's receipts/s | ${fmt(throughputRatio * 100)}% by receipts/s (${fmt(durable.closed.receiptsPerSec)} against ${fmt(noop.receiptsPerSec)}; other work took ${fmt(durable.closed.otherCpuPct)}% and ${fmt(noop.otherCpuPct)}% of the machine meanwhile); ${fmt(cpuRatio * 100)}% by server CPU per receipt (${fmt(cpuPerReceipt(durable.closed), 3)} against ${fmt(cpuPerReceipt(noop), 3)} ms), which other work does not move | ${ratioVerdict} |
| p99 answer ≤ 50 ms at 80% of the measured peak | ${fmt(at80.p99Ms, 1)} ms at ${fmt(at80.offeredRate)}/s offered (peak ${fmt(durable.peak)}/s) | ${yes(at80.p99Ms <= 50)} |
| ≥ 20,000 receipts/s, persistent connections | ${fmt(durable.closed.receiptsPerSec)} (${fmt(multi.receiptsPerSec)} with ${INGEST_PROCESSES} ingest processes); this machine's loopback ceiling, a trivial server answering the same traffic shape: ${fmt(ceiling.persistentPerSec)} exchanges/s | ${yes(Math.max(durable.closed.receiptsPerSec, multi.receiptsPerSec) >= 20_000)} |
| ≥ 5,000 receipts/s, a connection per request | ${fmt(durable.perRequest.receiptsPerSec)}; loopback ceiling with a trivial server: ${fmt(ceiling.perRequestPerSec)} connections/s | ${yes(durable.perRequest.receiptsPerSec >= 5_000)} |
| 50,000 idle connections with ≤ 1 GiB RSS growth | ${fmt(idle.held)} held by ${idle.processes} ingest processes (their file-descriptor limits allowed ${fmt(idle.attempted)}), +${fmt(idle.rssGrowthMb)} MiB (${fmt(idle.kibPerConnection, 1)} KiB each; ${fmt(idle.growthAt50kMb)} MiB at 50,000) | ${idle.held >= IDLE_TARGET ? yes(idle.rssGrowthMb <= 1024) : `**not reached** (held ${fmt(idle.held)}; growth ${idle.growthAt50kMb <= 1024 ? 'within' : 'over'} 1 GiB extrapolated)`} |
| Group commit against one insert per request | end to end ×${fmt(gcSpeedup, 1)} (${fmt(durable.grouped.receiptsPerSec)} against ${fmt(single.receiptsPerSec)} receipts/s, ${SMALL_FLEET} registers); writer alone ×${fmt(microGroup / microBase, 1)} (${fmt(microGroup)} against ${fmt(microBase)} rows/s) | reported |
| Stored receipts = acknowledged receipts | ${verifications.map(({ label, v }) => `${label}: ${fmt(v.stored)} stored / ${fmt(v.acknowledged)} acknowledged, ${v.mismatchedDevices} registers differ`).join('; ')} | ${allVerified ? '**verified**' : '**FAILED**'} |

## Checks

${verifications.map(({ label, v }) => `- ${label}: ${verifyText(v).replace(/\n/g, '\n  ')}`).join('\n')}
- Retries, bursts and shift closures per run:

| Run | Answers lost | Resent, identical | Resent, differing | Resends after 254 / transport errors | Offline bursts (receipts) | Shifts closed | Z count mismatches |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${retryLines.join('\n')}

${errorLines.length ? `Errors by result code:\n\n${errorLines.join('\n')}\n` : 'No errors: every request was answered OK.\n'}
First contact (INFO from every register; the server builds each register's state from
ClickHouse): ${hellos.map((h) => `${h.label} ${h.devices} registers in ${h.seconds.toFixed(1)} s`).join('; ')}.

## Where the CPU went

CPU % (100% = one core) over each measured window: the server by thread group (main = the
JavaScript thread; v8/node = V8's helper threads, mostly garbage collection; ThreadPool,
MergeMutate, QueryPipelineEx… = the embedded ClickHouse), Redis (the whole redis-server), the
simulator, and what else ran on the machine (the machine's busy time from /proc/stat less those
three). Whatever "other" takes, the server did not get.

| Run | Server, CPU % by thread | Redis % | Simulator % | Other work % | Machine % (of ${machine.cores * 100}) |
| --- | --- | ---: | ---: | ---: | ---: |
${threadLines.join('\n')}

Writer-only micro-benchmark (bench/group-commit.ts, ${micro?.devices ?? '—'} concurrent writers, ${micro?.seconds ?? '—'} s each):
${micro ? micro.results.map((r) => `${r.name}: ${fmt(r.rowsPerSec)} rows/s, ${fmt(r.rowsPerInsert)} rows per insert, p99 ${fmt(r.p99, 1)} ms`).join('; ') : 'did not run'}.

Idle connections: ${fmt(idle.held)} held for 5 s by a server with OFD_INGEST_PROCESSES=${idle.processes} (RSS summed over its processes), opened in ${fmt(idle.openSeconds, 1)} s; RLIMIT_NOFILE ${fmt(idle.serverFdLimit)} per server process, ${fmt(idle.clientFdLimit)} per simulator helper${idle.errors ? `; connect errors ${idle.errors}` : ''}.

${notes}
`;
// Formatted as `npm run lint` (prettier --check) expects.
const pretty = async (text: string, file: string) =>
  prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
const resultsPath = join(ROOT, 'bench', 'RESULTS.md');
writeFileSync(resultsPath, await pretty(md, resultsPath));
const jsonPath = join(ROOT, 'bench', 'results.json');
writeFileSync(
  jsonPath,
  await pretty(
    JSON.stringify({
      machine,
      loadStart,
      loadEnd,
      totalSeconds,
      stages: stages.map(({ label, result: { stats, ...r } }) => ({
        label,
        ...r,
        codes: stats.codes,
        transportErrors: Object.fromEntries(stats.transportErrors),
      })),
      verifications,
      micro,
      idle: idle satisfies IdleResult,
      ceiling,
      hellos,
    }),
    jsonPath,
  ),
);
log(
  `\nwrote bench/RESULTS.md, bench/results-chart.svg, bench/results.json in ${fmt(totalSeconds)} s`,
);
process.exit(allVerified ? 0 : 1);
