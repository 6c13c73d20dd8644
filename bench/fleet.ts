// The KKM fleet simulator: N registers over real TCP against a server, registered through the
// admin API, sending INFO, receipts, money placements and shift closures with token rotation,
// retries of lost answers and optional offline bursts. Reports receipts/s, answer latency
// (p50/p99/p999), errors by result code, server CPU and RSS, and checks at the end that the
// servers' Z reports count exactly the receipts the registers had acknowledged.
//
//   npx tsx bench/fleet.ts [--devices=1000] [--mode=persistent|per-request] [--rate=N]
//     [--duration=20] [--warmup=2] [--offline-fraction=0] [--loss-rate=0.002] [--share-203=0]
//     [--server=spawn|http://host:port] [--tcp-port=7777] [--admin-token=…]
//     [--store=clickhouse|noop] [--batch-max-rows=N] [--ingest-processes=N] [--cpu-prof=DIR]
//     [--node-options=…]
//     [--no-verify] [--json=FILE]
//
// --rate omitted = closed loop (each register sends its next request as soon as it is answered).
// --share-203: the share of the registers speaking protocol 2.0.3 (header VERSION 203).
// --server=spawn (default) starts `node --max-semi-space-size=64 --import tsx src/main.ts` (the
// flags of `npm start`) with a temporary DATA_DIR and its own Redis prefix, so its CPU and RSS
// can be sampled; a URL uses a running server (its admin token from --admin-token or
// OFD_ADMIN_TOKEN, its KKM TCP port from --tcp-port; run it with OFD_DEVICE_RATE=0,
// OFD_ADDRESS_RATE=0 and OFD_MAX_CONNECTIONS_PER_ADDRESS=0, as a spawned one is, or its request
// limits answer the fleet 254).
import { writeFileSync } from 'node:fs';
import { spawnServer, type ServerProcess, spawnedTarget } from './fleet/server-process.js';
import { Fleet, type Mode, type Target } from '../test/harness/index.js';
import { phaseText, verifyText } from './fleet/report.js';

const args = new Map<string, string>();
for (const a of process.argv.slice(2)) {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
  if (!m) {
    console.error(`unknown argument ${a}`);
    process.exit(2);
  }
  args.set(m[1]!, m[2] ?? 'true');
}
const num = (name: string, fallback: number): number => {
  const v = args.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name}=${v}: expected a non-negative number`);
    process.exit(2);
  }
  return n;
};

const devices = num('devices', 1000);
if (devices < 1 || devices > 50_000) {
  console.error('--devices: from 1 to 50000');
  process.exit(2);
}
const mode = (args.get('mode') ?? 'persistent') as Mode;
if (mode !== 'persistent' && mode !== 'per-request') {
  console.error('--mode: persistent or per-request');
  process.exit(2);
}
const rate = args.has('rate') ? num('rate', 0) : undefined;
const durationS = num('duration', 20);
const warmupS = num('warmup', 2);
const offlineFraction = num('offline-fraction', 0);
const lossRate = num('loss-rate', 0.002);
const share203 = num('share-203', 0);
const serverArg = args.get('server') ?? 'spawn';
const store = (args.get('store') ?? 'clickhouse') as 'clickhouse' | 'noop';

let server: ServerProcess | null = null;
let target: Target;
if (serverArg === 'spawn') {
  const env: Record<string, string> = {};
  if (args.has('node-options')) env.NODE_OPTIONS = args.get('node-options')!;
  if (args.has('batch-max-rows')) env.OFD_BATCH_MAX_ROWS = String(num('batch-max-rows', 1000));
  if (args.has('ingest-processes')) {
    env.OFD_INGEST_PROCESSES = String(num('ingest-processes', 0));
  }
  server = await spawnServer({ store, env, cpuProfDir: args.get('cpu-prof') });
  target = spawnedTarget(server);
  console.log(
    `server pid ${server.pid}: store ${store}, TCP ${server.tcpPort}, HTTP ${server.httpPort}`,
  );
} else {
  const url = new URL(serverArg);
  const adminToken = args.get('admin-token') ?? process.env.OFD_ADMIN_TOKEN;
  if (!adminToken) {
    console.error('--server=URL needs --admin-token or OFD_ADMIN_TOKEN');
    process.exit(2);
  }
  target = {
    host: url.hostname,
    httpPort: Number(url.port || 80),
    tcpPort: num('tcp-port', 7777),
    adminToken,
    redisUrl: process.env.REDIS_URL,
  };
}

let failed = false;
try {
  const fleet = await Fleet.create(target, {
    devices,
    lossRate,
    share203,
    seed: num('seed', 1),
    storeless: store === 'noop',
  });
  const helloS = await fleet.hello();
  console.log(`${devices} registers registered and said hello (INFO) in ${helloS.toFixed(1)} s`);
  const result = await fleet.runPhase({
    name: rate === undefined ? `${mode} closed loop` : `${mode} at ${rate}/s`,
    mode,
    rate,
    durationS,
    warmupS,
    offlineFraction,
  });
  console.log(phaseText(result));
  let verify = null;
  if (args.get('verify') !== 'false' && !args.has('no-verify') && store !== 'noop') {
    verify = await fleet.verify();
    console.log(verifyText(verify));
    failed = verify.mismatchedDevices > 0 || verify.zMismatches > 0 || verify.resendDifferent > 0;
  }
  fleet.close();
  if (args.has('json')) {
    const { stats, ...figures } = result;
    writeFileSync(
      args.get('json')!,
      JSON.stringify({ ...figures, codes: stats.codes, verify }, null, 2),
    );
  }
} catch (error) {
  failed = true;
  console.error(error);
  if (server) console.error(`server output:\n${server.tail()}`);
} finally {
  await server?.stop();
}
process.exit(failed ? 1 : 0);
