// The one launcher of the server as a child process, as `npm start` runs it (`node --import tsx
// src/main.ts`), for the crash and fault tests (kill -9 and restart on the same DATA_DIR and
// Redis prefix) and the benches (sample its CPU and RSS, run it with bench-only settings). A
// deployment is what survives a restart: data dir, ports, Redis prefix and admin token.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { freePort, tcpAccepts } from './ports.js';
import { deleteKeys } from './redis-keys.js';
import { spoolEnv } from './spool-env.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Deployment {
  dataDir: string;
  prefix: string;
  tcpPort: number;
  httpPort: number;
  redisUrl: string;
  adminToken: string;
  /** More environment for every start (e.g. OFD_DEVICE_LEASE_MS). */
  env: Record<string, string>;
}

export async function newDeployment(
  redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  env: Record<string, string> = {},
  name = 'faults',
): Promise<Deployment> {
  return {
    dataDir: mkdtempSync(join(tmpdir(), `ofd-${name}-`)),
    prefix: `ofdtest:${name}:${randomBytes(4).toString('hex')}:`,
    tcpPort: await freePort(),
    httpPort: await freePort(),
    redisUrl,
    adminToken: `${name}-admin-${randomBytes(8).toString('hex')}`,
    // Simulated registers share one address and retry hard: the rate limits are not under test
    // unless a test or bench passes them.
    env: {
      OFD_DEVICE_RATE: '0',
      OFD_ADDRESS_RATE: '0',
      OFD_MAX_CONNECTIONS_PER_ADDRESS: '0',
      ...spoolEnv(),
      ...env,
    },
  };
}

/** Removes what a deployment left: its Redis keys and its data dir. */
export async function removeDeployment(d: Deployment, opts: { keepData?: boolean } = {}) {
  const redis = new Redis(d.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await deleteKeys(redis, d.prefix);
  } catch {
    // best effort: a test's private Redis may be gone already
  } finally {
    redis.disconnect();
  }
  if (!opts.keepData) rmSync(d.dataDir, { recursive: true, force: true });
}

/** The deployment opened in this process (after its child server stopped), to look inside. */
export function openDeployment(
  d: Deployment,
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const config = loadConfig({ ...serverEnv(d), LOG_LEVEL: 'silent', ...env }, []);
  return startServer(config, pino({ level: 'silent' }));
}

function serverEnv(d: Deployment): Record<string, string> {
  return {
    DATA_DIR: d.dataDir,
    REDIS_URL: d.redisUrl,
    OFD_REDIS_PREFIX: d.prefix,
    OFD_HOST: '127.0.0.1',
    OFD_TCP_PORT: String(d.tcpPort),
    OFD_HTTP_PORT: String(d.httpPort),
    OFD_ADMIN_TOKEN: d.adminToken,
    LOG_LEVEL: 'warn',
    ...d.env,
  };
}

export interface StartOptions {
  /** Environment of this start only (e.g. OFD_CRASH_AT). */
  env?: Record<string, string>;
  /** V8 flags before the script (the bench passes `npm start`'s). */
  nodeFlags?: string[];
  /** Write a V8 CPU profile into this directory when the server stops. */
  cpuProfDir?: string;
  /** Also append everything the server prints to this file (e.g. a --trace-gc log). */
  outFile?: string;
  /** Also wait for `GET /healthz` (a server that runs the api role). */
  waitForHttp?: boolean;
  startTimeoutMs?: number;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** The server as `npm start` runs it, on a deployment; killed with SIGKILL or stopped with SIGTERM. */
export class ChildServer {
  private out: string[] = [];
  private killedByUs = false;
  readonly exited: Promise<Exit>;
  /** Set when the process ended without being told to (a crash: the reliability failure). */
  unexpectedExit: Exit | null = null;
  startedMs = 0;

  private constructor(readonly proc: ChildProcess) {
    const keep = (b: Buffer) => {
      for (const line of b.toString().split('\n')) {
        if (!line) continue;
        this.out.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
        if (this.out.length > 60) this.out.shift();
      }
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        if (!this.killedByUs) this.unexpectedExit = { code, signal };
        resolve({ code, signal });
      }),
    );
  }

  static async start(d: Deployment, opts: StartOptions = {}): Promise<ChildServer> {
    // As `npm start` would run: without tap's loaders (NODE_OPTIONS), TAP_* settings and the
    // caller's own OFD_* settings (the deployment says what the server gets).
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => k !== 'NODE_OPTIONS' && !/^(TAP|_TAPJS)/.test(k) && !k.startsWith('OFD_'),
      ),
    );
    const args = [...(opts.nodeFlags ?? []), '--import', 'tsx'];
    if (opts.cpuProfDir) args.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`);
    args.push(join(ROOT, 'src', 'main.ts'));
    const began = performance.now();
    const proc = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...inherited, ...serverEnv(d), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ChildServer(proc);
    if (opts.outFile) {
      const file = createWriteStream(opts.outFile, { flags: 'a' });
      proc.stdout!.pipe(file);
      proc.stderr!.pipe(file);
    }
    const timeoutMs = opts.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (server.unexpectedExit) throw new Error(`server exited during start:\n${server.output()}`);
      if (Date.now() > deadline) {
        await server.kill9();
        throw new Error(`server did not start in ${timeoutMs / 1000} s:\n${server.output()}`);
      }
      if ((await tcpAccepts(d.tcpPort)) && (!opts.waitForHttp || (await healthy(d.httpPort)))) {
        break;
      }
      await sleep(50);
    }
    server.startedMs = Math.round(performance.now() - began);
    return server;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The last lines the server printed (for error reports). */
  output(): string {
    return this.out.join('\n');
  }

  /** kill -9, resolved once the process is gone. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.killedByUs = true;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /**
   * SIGTERM: stops accepting, answers what is in flight, exits 0. Null when it was still running
   * after `withinMs` (then it is killed).
   */
  async terminate(withinMs = 30_000): Promise<Exit | null> {
    if (!this.alive) return this.exited;
    this.killedByUs = true;
    this.proc.kill('SIGTERM');
    const exit = await Promise.race([this.exited, sleep(withinMs).then(() => null)]);
    if (!exit) await this.kill9();
    return exit;
  }
}

async function healthy(httpPort: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok;
  } catch {
    return false;
  }
}
