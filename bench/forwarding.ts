// `npm run bench:forwarding`: what forwarding to the tax authority costs ingest, in one run. The
// same fleet (closed loop, persistent connections: the durable peak) runs against a server with
// no forwarder (OFD_FORWARD=off) and against one forwarding over HTTP to the reference receiver
// (a process of its own), in turns; printed: receipts/s of each and their ratio (target ≥ 0.9),
// the forwarding delay per document (receive → taken by the receiver, p50/p99), the highest
// lag the server's /metrics showed, and after the run the receiver's deduplicated receipts
// against those the registers had acknowledged (must be equal), in order per KKM.
//
//   npm run bench:forwarding [-- --devices=400] [--duration=15] [--rounds=1] [--batch=1000]
//     [--linger-ms=1000] [--duty=PERCENT] [--only-forwarding] [--tail]
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import type { ReceiverStats } from '../src/forwarding/receiver.js';
import { freePort, tcpAccepts } from '../test/harness/ports.js';
import { sampleProcess } from '../test/harness/process-stats.js';
import { fmt, phaseText, verifyText } from './fleet/report.js';
import { ROOT, spawnServer, spawnedTarget } from './fleet/server-process.js';
import { Fleet, type PhaseResult } from '../test/harness/index.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '400' },
    duration: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '1' },
    batch: { type: 'string', default: '1000' },
    'linger-ms': { type: 'string', default: '1000' },
    duty: { type: 'string', default: '' },
    'only-forwarding': { type: 'boolean', default: false },
    tail: { type: 'boolean', default: false },
  },
});
const DEVICES = Number(args.devices);
const DURATION_S = Number(args.duration);
const ROUNDS = Number(args.rounds);
const BATCH = args.batch!;
const LINGER = args['linger-ms']!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

console.log(`load average at start: ${load()} (2 cores shared with other work)`);

/** The reference receiver in its own process, as the authority would be; one per run. */
async function startReceiver() {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/forwarding/receiver-main.ts'), `--port=${port}`],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  while (!(await tcpAccepts(port))) await sleep(100);
  const url = `http://127.0.0.1:${port}`;
  return {
    url: `${url}/documents`,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as ReceiverStats,
    /** CPU seconds the receiver (the authority's stand-in, on the same cores) has used. */
    cpuSeconds: () => sampleProcess(proc.pid!).cpuSeconds,
    stop: () => proc.kill('SIGTERM'),
  };
}

interface Run {
  phase: PhaseResult;
  maxLagS: number;
  acknowledged: number;
  receiver: ReceiverStats | null;
}

async function run(forwarding: boolean): Promise<Run> {
  const receiver = forwarding ? await startReceiver() : null;
  const server = await spawnServer({
    env: receiver
      ? {
          OFD_FORWARD_URL: receiver.url,
          OFD_FORWARD_BATCH: BATCH,
          OFD_FORWARD_LINGER_MS: LINGER,
          ...(args.duty ? { OFD_FORWARD_DUTY_PERCENT: args.duty } : {}),
        }
      : { OFD_FORWARD: 'off' },
  });
  try {
    const fleet = await Fleet.create(spawnedTarget(server), { devices: DEVICES, seed: 16 });
    await fleet.hello();
    let maxLagS = 0;
    let sampling = forwarding;
    const sampler = (async () => {
      while (sampling) {
        const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
        const lag = /ofd_forward_lag_seconds\{transport="http"\} ([\d.e+-]+)/.exec(text);
        if (lag) maxLagS = Math.max(maxLagS, Number(lag[1]));
        await sleep(1000);
      }
    })();
    const cpuBefore = receiver?.cpuSeconds() ?? 0;
    const phaseStart = Date.now();
    const phase = await fleet.runPhase({
      name: forwarding ? 'forwarding to the receiver' : 'no forwarder',
      mode: 'persistent',
      durationS: DURATION_S,
      warmupS: 2,
    });
    console.log(phaseText(phase));
    if (receiver) {
      const share = (receiver.cpuSeconds() - cpuBefore) / ((Date.now() - phaseStart) / 1000);
      console.log(`  the reference receiver's own process: ${fmt(share * 100)}% of a core`);
    }
    const verify = await fleet.verify();
    console.log(verifyText(verify));
    fleet.close();
    let stats: ReceiverStats | null = null;
    if (receiver) {
      // The forwarder catches up with what the registers were answered.
      const deadline = Date.now() + 180_000;
      do {
        await sleep(500);
        stats = await receiver.stats();
      } while ((stats.kinds.ticket ?? 0) < verify.acknowledged && Date.now() < deadline);
    }
    sampling = false;
    await sampler;
    if (receiver) {
      const state = await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/admin/forwarding`, {
        headers: { authorization: `Bearer ${server.adminToken}` },
      });
      console.log(`  forwarder: ${JSON.stringify((await state.json()).transports[0].forwarder)}`);
      if (args.tail) console.log(server.tail());
    }
    return { phase, maxLagS, acknowledged: verify.acknowledged, receiver: stats };
  } finally {
    await server.stop();
    receiver?.stop();
  }
}

const without: PhaseResult[] = [];
const withForwarding: Run[] = [];
for (let round = 0; round < ROUNDS; round++) {
  if (!args['only-forwarding']) without.push((await run(false)).phase);
  withForwarding.push(await run(true));
}
{
  const rate = (list: number[]) => list.reduce((a, b) => a + b, 0) / list.length;
  const off = rate(without.map((p) => p.receiptsPerSec));
  const on = rate(withForwarding.map((r) => r.phase.receiptsPerSec));
  const ratio = on / off;
  console.log('\nforwarding bench');
  console.log(`  registers ${DEVICES}, ${DURATION_S} s per phase, ${ROUNDS} round(s)`);
  console.log(`  receipts/s without a forwarder: ${fmt(off)}`);
  console.log(`  receipts/s forwarding over HTTP: ${fmt(on)}`);
  console.log(`  ratio ${ratio.toFixed(3)} (target ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'missed'})`);
  let ok = true;
  for (const [i, r] of withForwarding.entries()) {
    const s = r.receiver!;
    const receipts = s.kinds.ticket ?? 0;
    const same = receipts === r.acknowledged && s.outOfOrder === 0 && s.gaps === 0;
    ok &&= same;
    console.log(
      `  round ${i + 1}: delay receive → receiver p50 ${fmt(s.delayMs.p50)} ms, ` +
        `p99 ${fmt(s.delayMs.p99)} ms, max ${fmt(s.delayMs.max)} ms; ` +
        `highest lag on /metrics ${r.maxLagS.toFixed(1)} s`,
    );
    console.log(
      `  round ${i + 1}: receiver ${receipts} receipts deduplicated (${s.unique} documents, ` +
        `${s.duplicates} duplicates, ${s.batches} batches) = acknowledged ${r.acknowledged}: ` +
        `${same ? 'verified' : 'MISMATCH'}; out of order ${s.outOfOrder}, gaps ${s.gaps}`,
    );
  }
  console.log(`load average at end: ${load()}`);
  process.exitCode = ok ? 0 : 1;
}
