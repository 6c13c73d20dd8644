// The server under test as a child process (test/harness/child-server.ts), so the simulator
// can sample its CPU and RSS from /proc and run it with benchmark-only settings (OFD_STORE=noop,
// OFD_BATCH_MAX_ROWS=1, --cpu-prof). Each server gets a temporary DATA_DIR, free ports, its own
// Redis key prefix (removed when it stops) and an admin token.
import { readdirSync } from 'node:fs';
import {
  ChildServer,
  fdLimitOf,
  ingestProcessPids,
  newDeployment,
  removeDeployment,
  sampleThreads,
  sampleTree,
  type ProcessSample,
  type Target,
} from '../../test/harness/index.js';

export { ROOT } from '../../test/harness/index.js';
export type { ProcessSample };

/** V8 flags the server runs with, the same as `npm start` (package.json). */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'];

// For a look inside any benchmark's server: BENCH_SERVER_FLAGS adds V8 flags (space-separated,
// e.g. `--trace-gc`), BENCH_SERVER_OUT copies what it prints into a file.
const extraFlags = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean);

export interface ServerOptions {
  store?: 'clickhouse' | 'noop';
  /** Extra environment (e.g. OFD_BATCH_MAX_ROWS). */
  env?: Record<string, string>;
  /** Write a V8 CPU profile of the server into this directory when it stops. */
  cpuProfDir?: string;
  logLevel?: string;
}

export interface ServerProcess {
  pid: number;
  tcpPort: number;
  httpPort: number;
  adminToken: string;
  dataDir: string;
  redisPrefix: string;
  redisUrl: string;
  store: 'clickhouse' | 'noop';
  sample(): ProcessSample;
  threads(): Record<string, number>;
  /** Connections the server's processes can still open within their file-descriptor limits. */
  fdRoom(): number;
  /** The server's RLIMIT_NOFILE (soft), per process. */
  fdLimit(): number;
  /** Processes accepting KKM connections (the server itself, or its ingest processes). */
  tcpProcesses(): number;
  /** Last lines the server printed (for error reports). */
  tail(): string;
  /** SIGTERM, wait for the exit, drop the Redis keys; keeps DATA_DIR when `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export async function spawnServer(opts: ServerOptions = {}): Promise<ServerProcess> {
  const store = opts.store ?? 'clickhouse';
  // The simulated registers all connect from 127.0.0.1 and each sends far faster than a real
  // one: the deployment turns the per-device and per-address limits off, so the figures measure
  // the pipeline rather than the limiter (pass them in `env` to measure it with them).
  const d = await newDeployment(undefined, { OFD_STORE: store, ...opts.env }, 'bench');
  const child = await ChildServer.start(d, {
    nodeFlags: [...SERVER_NODE_FLAGS, ...extraFlags],
    cpuProfDir: opts.cpuProfDir,
    outFile: process.env.BENCH_SERVER_OUT,
    waitForHttp: true,
    env: { LOG_LEVEL: opts.logLevel ?? 'warn' },
  });
  const pid = child.pid;
  return {
    pid,
    tcpPort: d.tcpPort,
    httpPort: d.httpPort,
    adminToken: d.adminToken,
    dataDir: d.dataDir,
    redisPrefix: d.prefix,
    redisUrl: d.redisUrl,
    store,
    sample: () => sampleTree(pid),
    threads: () => sampleThreads(pid),
    fdRoom: () => {
      // With ingest processes the server process only hands connections on.
      const children = ingestProcessPids(pid);
      const holders = children.length ? children : [pid];
      return holders.reduce(
        (room, p) => room + Math.max(0, fdLimitOf(p) - readdirSync(`/proc/${p}/fd`).length - 64),
        0,
      );
    },
    fdLimit: () => fdLimitOf(pid),
    tcpProcesses: () => Math.max(1, ingestProcessPids(pid).length),
    tail: () => child.output(),
    async stop(stopOpts = {}) {
      await child.terminate(30_000);
      await removeDeployment(d, stopOpts);
    },
  };
}

/** The fleet's view of a server the bench started (test/harness/fleet). */
export function spawnedTarget(server: ServerProcess): Target {
  return {
    host: '127.0.0.1',
    tcpPort: server.tcpPort,
    httpPort: server.httpPort,
    adminToken: server.adminToken,
    redisUrl: server.redisUrl,
    sample: server.sample,
    threads: server.threads,
  };
}
