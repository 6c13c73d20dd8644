// The server under test as a child process (`node --import tsx src/main.ts`), so the simulator
// can sample its CPU and RSS from /proc and run it with benchmark-only settings (OFD_STORE=noop,
// OFD_BATCH_MAX_ROWS=1, --cpu-prof). Each server gets a temporary DATA_DIR, free ports, its own
// Redis key prefix (removed when it stops) and an admin token.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, tcpAccepts } from '../../test/helpers/ports.js';
import { deleteKeys } from '../../test/helpers/redis-keys.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** V8 flags the server runs with, the same as `npm start` (package.json). */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'];

export interface ServerOptions {
  store?: 'clickhouse' | 'noop';
  /** Extra environment (e.g. OFD_BATCH_MAX_ROWS). */
  env?: Record<string, string>;
  /** Write a V8 CPU profile of the server into this directory when it stops. */
  cpuProfDir?: string;
  logLevel?: string;
}

export interface ProcessSample {
  /** CPU seconds (user + system) used since the process started. */
  cpuSeconds: number;
  rssBytes: number;
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

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The process and its descendants (the server's ingest processes), from /proc. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
        const children = readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
        if (children) out.push(...children.split(' ').map(Number));
      }
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** The server's ingest processes (node children; tsx's esbuild service is a child too). */
export function ingestProcessPids(pid: number): number[] {
  return processTree(pid)
    .slice(1)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node';
      } catch {
        return false;
      }
    });
}

/** CPU and RSS of a process and its descendants, summed. */
export function sampleTree(pid: number): ProcessSample {
  let cpuSeconds = 0;
  let rssBytes = 0;
  for (const p of processTree(pid)) {
    try {
      const s = sampleProcess(p);
      cpuSeconds += s.cpuSeconds;
      rssBytes += s.rssBytes;
    } catch {
      // ended meanwhile
    }
  }
  return { cpuSeconds, rssBytes };
}

/** CPU and RSS of a process from /proc (Linux), like pidusage without the dependency. */
export function sampleProcess(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: (utime + stime) / CLK_TCK, rssBytes: rssKb * 1024 };
}

/**
 * CPU seconds by thread group: `main` (the JavaScript thread), `libuv` (its worker pool), the
 * V8 helpers, and the embedded ClickHouse's pools under their own names; the server's ingest
 * processes, if any, as `ingest` (all their threads).
 */
export function sampleThreads(pid: number): Record<string, number> {
  const out = threadGroups(pid);
  for (const child of ingestProcessPids(pid)) {
    try {
      out.ingest = (out.ingest ?? 0) + sampleProcess(child).cpuSeconds;
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

function threadGroups(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      const group =
        tid === String(pid)
          ? 'main'
          : comm.startsWith('libuv')
            ? 'libuv'
            : comm.startsWith('V8') || comm === 'node'
              ? 'v8/node'
              : comm;
      out[group] = (out[group] ?? 0) + cpu;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function spawnServer(opts: ServerOptions = {}): Promise<ServerProcess> {
  const store = opts.store ?? 'clickhouse';
  const dataDir = mkdtempSync(join(tmpdir(), 'ofd-fleet-'));
  const redisPrefix = `ofdbench:${randomBytes(4).toString('hex')}:`;
  const adminToken = `bench-${randomBytes(16).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const [tcpPort, httpPort] = [await freePort(), await freePort()];
  const args = [...SERVER_NODE_FLAGS, '--import', 'tsx'];
  if (opts.cpuProfDir) args.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`);
  args.push(join(ROOT, 'src', 'main.ts'));
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      REDIS_URL: redisUrl,
      OFD_TCP_PORT: String(tcpPort),
      OFD_HTTP_PORT: String(httpPort),
      OFD_HOST: '127.0.0.1',
      OFD_REDIS_PREFIX: redisPrefix,
      OFD_ADMIN_TOKEN: adminToken,
      OFD_STORE: store,
      LOG_LEVEL: opts.logLevel ?? 'warn',
      // The simulated registers all connect from 127.0.0.1 and each sends far faster than a
      // real one: the per-device and per-address limits are off, so the figures measure the
      // pipeline rather than the limiter (pass them in `env` to measure it with them).
      OFD_DEVICE_RATE: '0',
      OFD_ADDRESS_RATE: '0',
      OFD_MAX_CONNECTIONS_PER_ADDRESS: '0',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
      if (lines.length > 40) lines.shift();
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  const exit = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      exited = true;
      r(code);
    }),
  );
  const pid = child.pid!;

  // Ready when /healthz answers and the TCP port accepts.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`server exited while starting:\n${lines.join('\n')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start in 60 s:\n${lines.join('\n')}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      if (res.ok && (await tcpAccepts(tcpPort))) break;
    } catch {
      // not up yet
    }
    await sleep(100);
  }

  return {
    pid,
    tcpPort,
    httpPort,
    adminToken,
    dataDir,
    redisPrefix,
    redisUrl,
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
    tail: () => lines.join('\n'),
    async stop(stopOpts = {}) {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exit;
        clearTimeout(killer);
      }
      await dropKeys(redisUrl, redisPrefix);
      if (!stopOpts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function fdLimitOf(pid: number): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 1024);
}

async function dropKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await deleteKeys(redis, prefix);
  } catch {
    // best effort
  } finally {
    redis.disconnect();
  }
}

/** CPU seconds the Redis server has used (INFO cpu), to show its share of the machine. */
export async function redisCpuSeconds(url: string): Promise<number | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('cpu');
    const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return get('used_cpu_sys') + get('used_cpu_user');
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}
