// Fault injection for the reliability test (test/reliability/faults.test.ts) and the soak
// (bench/soak.ts): a private redis-server on a free port (to stop, kill and restart empty), the
// server as a child process (`node --import tsx src/main.ts`, to kill -9 and restart on the same
// DATA_DIR and Redis prefix), and a fleet of registers sending tickets continuously. A register
// resends a request it got no answer to, or 254 for, unchanged (same TOKEN and REQNUM) on a new
// connection until it is answered, as the protocol says (sections 2.4 and 5), and keeps a
// ledger of every ticket number it was answered OK. The ledger is then compared with what
// ClickHouse holds, counted without FINAL.
import type { Db } from '../../src/storage/db.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { ResultCode } from '../../src/protocol/schema.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { requests, seededRandom, ticket, type Random } from '../../src/sim/documents.js';
import { KkmDevice, TcpLink, type Answer } from '../../src/sim/kkm-client.js';
import { freePort, tcpAccepts } from './ports.js';
import { uniqueBin } from './server.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const OK = ResultCode.RESULT_TYPE_OK;
export const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Our own redis-server (no persistence): every start is an empty Redis on the same port. */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly dir = mkdtempSync(join(tmpdir(), 'ofd-redis-'));
  /** Starts counted so far (the first one included). */
  starts = 0;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /** Starts redis-server (empty) and resolves once it accepts connections. */
  async up(): Promise<void> {
    if (this.proc) return;
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--protected-mode',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    let dead = false;
    this.exited = new Promise((resolve) =>
      proc.once('exit', () => {
        dead = true;
        resolve();
      }),
    );
    this.proc = proc;
    const deadline = Date.now() + 10_000;
    while (!(await this.ping())) {
      if (dead) throw new Error(`redis-server exited: ${err}`);
      if (Date.now() > deadline) throw new Error('redis-server did not start in 10 s');
      await sleep(20);
    }
    this.starts++;
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect({ port: this.port, host: '127.0.0.1' });
      let got = '';
      s.once('connect', () => s.write('PING\r\n'));
      s.on('data', (b) => {
        got += b.toString();
        if (got.includes('\r\n')) {
          s.destroy();
          resolve(got.startsWith('+PONG'));
        }
      });
      s.once('error', () => resolve(false));
    });
  }

  /** SHUTDOWN NOSAVE: Redis stops and forgets everything. */
  async shutdownNoSave(): Promise<void> {
    if (!this.proc) return;
    await new Promise<void>((resolve) => {
      const s = net.connect({ port: this.port, host: '127.0.0.1' }, () =>
        s.write('SHUTDOWN NOSAVE\r\n'),
      );
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    await this.exited;
    this.proc = null;
  }

  /** kill -9 of redis-server. */
  async kill(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill('SIGKILL');
    await this.exited;
    this.proc = null;
  }

  async close(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

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
  redisUrl: string,
  env: Record<string, string> = {},
): Promise<Deployment> {
  return {
    dataDir: mkdtempSync(join(tmpdir(), 'ofd-faults-')),
    prefix: `ofdtest:faults:${randomBytes(4).toString('hex')}:`,
    tcpPort: await freePort(),
    httpPort: await freePort(),
    redisUrl,
    adminToken: `faults-admin-${randomBytes(8).toString('hex')}`,
    // The whole fleet shares one address and retries hard: the rate limits are not under test.
    env: { OFD_DEVICE_RATE: '0', OFD_ADDRESS_RATE: '0', ...env },
  };
}

/** The deployment opened in this process (after its child server stopped), to look inside. */
export function openDeployment(
  d: Deployment,
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const config = loadConfig(
    {
      DATA_DIR: d.dataDir,
      REDIS_URL: d.redisUrl,
      OFD_REDIS_PREFIX: d.prefix,
      OFD_HOST: '127.0.0.1',
      OFD_TCP_PORT: String(d.tcpPort),
      OFD_HTTP_PORT: String(d.httpPort),
      OFD_ADMIN_TOKEN: d.adminToken,
      ...d.env,
      LOG_LEVEL: 'silent',
      ...env,
    },
    [],
  );
  return startServer(config, pino({ level: 'silent' }));
}

/** The server as `npm start` runs it, on a deployment; killed with SIGKILL or stopped with SIGTERM. */
export class ChildServer {
  private out: string[] = [];
  private killedByUs = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set when the process ended without being told to (a crash: the reliability failure). */
  unexpectedExit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  startedMs = 0;

  private constructor(readonly proc: ChildProcess) {
    const keep = (b: Buffer) => {
      for (const line of b.toString().split('\n')) {
        if (!line) continue;
        this.out.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
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

  static async start(d: Deployment, extraEnv: Record<string, string> = {}): Promise<ChildServer> {
    // As `npm start` would run: without tap's loaders (NODE_OPTIONS) and TAP_* settings.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => k !== 'NODE_OPTIONS' && !/^(TAP|_TAPJS)/.test(k) && !k.startsWith('OFD_'),
      ),
    );
    const began = performance.now();
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        ...inherited,
        DATA_DIR: d.dataDir,
        REDIS_URL: d.redisUrl,
        OFD_HOST: '127.0.0.1',
        OFD_TCP_PORT: String(d.tcpPort),
        OFD_HTTP_PORT: String(d.httpPort),
        OFD_REDIS_PREFIX: d.prefix,
        OFD_ADMIN_TOKEN: d.adminToken,
        LOG_LEVEL: 'warn',
        ...d.env,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ChildServer(proc);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (server.unexpectedExit) throw new Error(`server exited during start:\n${server.output()}`);
      if (Date.now() > deadline) {
        await server.kill9();
        throw new Error(`server did not start in 60 s:\n${server.output()}`);
      }
      if (await tcpAccepts(d.tcpPort)) break;
      await sleep(50);
    }
    server.startedMs = Math.round(performance.now() - began);
    return server;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

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
  async terminate(
    withinMs = 30_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
    if (!this.alive) return this.exited;
    this.killedByUs = true;
    this.proc.kill('SIGTERM');
    const exit = await Promise.race([this.exited, sleep(withinMs).then(() => null)]);
    if (!exit) await this.kill9();
    return exit;
  }
}

export async function adminCall(
  d: Pick<Deployment, 'httpPort' | 'adminToken'>,
  method: string,
  url: string,
  body?: unknown,
): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${d.httpPort}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${d.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

export interface Registered {
  kkmId: number;
  token: number;
}

/** One organization and point with `count` registers (bulk registration, tokens included). */
export async function registerDevices(
  d: Pick<Deployment, 'httpPort' | 'adminToken'>,
  count: number,
): Promise<Registered[]> {
  const org = await adminCall(d, 'POST', '/api/v1/admin/orgs', {
    bin: uniqueBin(),
    title: 'ТОО Faults',
    address: 'Almaty',
    okved: '47111',
    password: 'Secret-pass1!',
  });
  const point = await adminCall(d, 'POST', `/api/v1/admin/orgs/${org.id}/points`, {
    title: 'Shop',
    address: 'Abay 1',
  });
  const tag = randomBytes(4).toString('hex');
  const out: Registered[] = [];
  for (let from = 0; from < count; from += 5000) {
    const n = Math.min(5000, count - from);
    const created = await adminCall(d, 'POST', `/api/v1/admin/points/${point.id}/kkms/bulk`, {
      kkms: Array.from({ length: n }, (_, i) => ({
        serialNumber: `SN${tag}${from + i}`,
        model: 'Fault KKM',
        fnsKkmId: `FNS${tag}${from + i}`,
      })),
    });
    for (const k of created.kkms as { id: number; token: number }[]) {
      out.push({ kkmId: k.id, token: k.token });
    }
  }
  return out;
}

/** One answer (or a lost one: code null) as a register saw it; times are performance.now(). */
export interface Attempt {
  kkmId: number;
  code: number | null;
  sentAt: number;
  at: number;
}

export interface FleetOptions {
  tcpPort: number;
  devices: Registered[];
  seed: number;
  /** Pause between a register's receipts, drawn from [min, max] ms. */
  thinkMs?: [number, number];
  /** How long a register waits for an answer before it counts it lost. */
  answerTimeoutMs?: number;
  /** A request still unanswered after this long is given up (counted, then the run fails). */
  giveUpMs?: number;
  /** Pause before a resend, drawn from [min, max] ms. */
  retryDelayMs?: [number, number];
  onAttempt?: (a: Attempt) => void;
}

export interface FleetStats {
  delivered: number;
  acked: number;
  /** Attempts without an answer (connection refused, closed or timed out). */
  noAnswer: number;
  unavailable: number;
  /** Requests that needed more than one attempt. */
  retried: number;
  /** Resends of a request already answered after retries: identical bytes or not. */
  resendIdentical: number;
  resendDifferent: number;
  gaveUp: number;
  codes: Record<string, number>;
  /** Answers other than OK and 254, with their text. */
  unexpected: { kkmId: number; code: number; text: string }[];
}

class FleetDevice {
  readonly dev: KkmDevice;
  readonly link: TcpLink;
  readonly acked: string[] = [];

  constructor(
    reg: Registered,
    port: number,
    timeoutMs: number,
    readonly random: Random,
  ) {
    this.link = new TcpLink(port, '127.0.0.1', timeoutMs);
    this.dev = new KkmDevice(reg.kkmId, reg.token, this.link.send);
  }
}

/** Registers sending receipts continuously; every receipt is resent until it is answered. */
export class Fleet {
  readonly devices: FleetDevice[];
  readonly stats: FleetStats = {
    delivered: 0,
    acked: 0,
    noAnswer: 0,
    unavailable: 0,
    retried: 0,
    resendIdentical: 0,
    resendDifferent: 0,
    gaveUp: 0,
    codes: {},
    unexpected: [],
  };
  private running = false;
  private loops: Promise<void>[] = [];
  private ackWaiters: { target: number; resolve: () => void }[] = [];

  constructor(private readonly o: FleetOptions) {
    this.devices = o.devices.map(
      (reg, i) =>
        new FleetDevice(reg, o.tcpPort, o.answerTimeoutMs ?? 5000, seededRandom(o.seed * 1000 + i)),
    );
  }

  /** Ticket numbers answered OK, by KKM. */
  acked(): Map<number, string[]> {
    return new Map(this.devices.map((d) => [d.dev.id, d.acked]));
  }

  start(): void {
    this.running = true;
    this.loops = this.devices.map((d) => this.loop(d));
  }

  /** Lets every register finish the receipt it is sending (answered), then stops. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  close(): void {
    for (const d of this.devices) d.link.close();
  }

  /** Resolves once `more` further receipts were answered OK (rejects after `withinMs`). */
  async waitForAcks(more: number, withinMs = 30_000): Promise<void> {
    const target = this.stats.acked + more;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.ackWaiters.push({ target, resolve })),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`fewer than ${more} receipts acknowledged in ${withinMs} ms`)),
          withinMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** One more receipt from every register (after the faults): each must be answered OK. */
  async oneMoreEach(): Promise<(number | null)[]> {
    return Promise.all(
      this.devices.map(async (d) => {
        const a = await this.deliver(d);
        return a ? a.response.result.result_code : null;
      }),
    );
  }

  private async loop(d: FleetDevice): Promise<void> {
    const [min, max] = this.o.thinkMs ?? [5, 40];
    while (this.running) {
      await this.deliver(d);
      await sleep(min + d.random() * (max - min));
    }
  }

  /** Sends one receipt and resends it until it is answered with something other than 254. */
  private async deliver(d: FleetDevice): Promise<Answer | null> {
    const dev = d.dev;
    dev.frame(requests.ticket(ticket(d.random, { items: 1 + Math.floor(d.random() * 3) })));
    const began = performance.now();
    let attempts = 0;
    for (;;) {
      attempts++;
      const a = await this.attempt(d, () => dev.resend());
      if (a && a.response.result.result_code !== UNAVAILABLE) {
        this.stats.delivered++;
        if (attempts > 1) {
          this.stats.retried++;
          await this.checkResend(d, a);
        }
        this.answered(d, a);
        return a;
      }
      // Per the protocol: drop the connection, reconnect and send the same frame again.
      d.link.close();
      if (performance.now() - began > (this.o.giveUpMs ?? 60_000)) {
        this.stats.gaveUp++;
        return null;
      }
      await this.pause(d);
    }
  }

  /** An answer that came after retries: one more resend must bring the same bytes. */
  private async checkResend(d: FleetDevice, first: Answer): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const again = await this.attempt(d, () => d.dev.resend());
      if (again && again.response.result.result_code !== UNAVAILABLE) {
        if (again.bytes.equals(first.bytes)) this.stats.resendIdentical++;
        else this.stats.resendDifferent++;
        return;
      }
      d.link.close();
      await this.pause(d);
    }
  }

  private pause(d: FleetDevice): Promise<void> {
    const [min, max] = this.o.retryDelayMs ?? [50, 200];
    return sleep(min + d.random() * (max - min));
  }

  private async attempt(d: FleetDevice, send: () => Promise<Answer>): Promise<Answer | null> {
    const sentAt = performance.now();
    let a: Answer | null = null;
    try {
      a = await send();
    } catch {
      this.stats.noAnswer++;
    }
    const code = a ? a.response.result.result_code : null;
    if (code !== null) this.stats.codes[code] = (this.stats.codes[code] ?? 0) + 1;
    if (code === UNAVAILABLE) this.stats.unavailable++;
    this.o.onAttempt?.({ kkmId: d.dev.id, code, sentAt, at: performance.now() });
    return a;
  }

  private answered(d: FleetDevice, a: Answer): void {
    const code = a.response.result.result_code;
    if (code !== OK) {
      this.stats.unexpected.push({
        kkmId: d.dev.id,
        code,
        text: a.response.result.result_text ?? '',
      });
      return;
    }
    d.acked.push(a.response.ticket!.ticket_number);
    this.stats.acked++;
    const ready = this.ackWaiters.filter((w) => this.stats.acked >= w.target);
    this.ackWaiters = this.ackWaiters.filter((w) => this.stats.acked < w.target);
    for (const w of ready) w.resolve();
  }
}

export interface LedgerCheck {
  acked: number;
  /** Acknowledged but not stored. */
  lost: string[];
  /** Stored more than once, counted without FINAL (ticket number → copies). */
  duplicated: { ticketNumber: string; copies: number }[];
  /** Stored but never acknowledged (a request given up while its commit landed). */
  unacknowledged: string[];
  /** Documents of any type whose (kkm_id, doc_seq) has more than one physical row. */
  duplicateSeqs: number;
  /** The logical rows (FINAL) equal the acknowledged receipts, register by register. */
  finalMatches: boolean;
}

/** Compares the fleet's ledger with the documents table, without FINAL and with it. */
export async function checkLedger(
  db: Pick<Db, 'rows'>,
  acked: Map<number, string[]>,
): Promise<LedgerCheck> {
  const ids = [...acked.keys()];
  const q = <T>(query: string) => db.rows<T>(query, { ids });
  const physical = await q<{ ticket_number: string; n: string }>(
    `SELECT ticket_number, count() AS n FROM documents
     WHERE doc_type = 'ticket' AND kkm_id IN {ids:Array(UInt32)} GROUP BY ticket_number`,
  );
  const final = await q<{ kkm_id: number; ticket_number: string }>(
    `SELECT kkm_id, ticket_number FROM documents FINAL
     WHERE doc_type = 'ticket' AND kkm_id IN {ids:Array(UInt32)} ORDER BY kkm_id, doc_seq`,
  );
  const [seqs] = await q<{ n: string }>(
    `SELECT count() AS n FROM (SELECT kkm_id, doc_seq, count() AS c FROM documents
     WHERE kkm_id IN {ids:Array(UInt32)} GROUP BY kkm_id, doc_seq HAVING c > 1)`,
  );
  const stored = new Map(physical.map((r) => [r.ticket_number, Number(r.n)]));
  const ackedAll = new Set([...acked.values()].flat());
  const finalBy = new Map<number, string[]>();
  for (const r of final) {
    const list = finalBy.get(Number(r.kkm_id)) ?? [];
    list.push(r.ticket_number);
    finalBy.set(Number(r.kkm_id), list);
  }
  let finalMatches = true;
  for (const [kkmId, numbers] of acked) {
    const f = finalBy.get(kkmId) ?? [];
    if (f.length !== numbers.length || f.some((n, i) => n !== numbers[i])) finalMatches = false;
  }
  return {
    acked: ackedAll.size,
    lost: [...ackedAll].filter((n) => !stored.has(n)),
    duplicated: [...stored]
      .filter(([, n]) => n > 1)
      .map(([ticketNumber, copies]) => ({ ticketNumber, copies })),
    unacknowledged: [...stored.keys()].filter((n) => !ackedAll.has(n)),
    duplicateSeqs: Number(seqs?.n ?? 0),
    finalMatches,
  };
}
