// The fleet: N registered registers talking to a running server over real TCP, run in phases
// (closed loop: every register sends its next request as soon as it has its answer; open loop:
// receipts arrive at a fixed rate and go to whichever register is free), with the server's CPU
// and RSS sampled while a phase runs, and the end-of-run check of stored against acknowledged.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { SingleBar } from 'cli-progress';
import { TcpLink, tcpPerRequest, type Transport } from '../../src/sim/kkm-client.js';
import { seededRandom } from '../../src/sim/documents.js';
import { SimDevice } from './device.js';
import { AdminClient, pool, registerFleet } from '../../test/harness/admin-client.js';
import { redisCpuSeconds, type ProcessSample, type ServerProcess } from './server-process.js';
import { PhaseStats, type StatsRef } from './stats.js';
import { ticketPool } from './workload.js';

export type Mode = 'persistent' | 'per-request';

export interface Target {
  host: string;
  tcpPort: number;
  httpPort: number;
  adminToken: string;
  redisUrl?: string;
  /** Samples the server process, when the simulator started it. */
  sample?: () => ProcessSample;
  /** CPU seconds by server thread group. */
  threads?: () => Record<string, number>;
}

/** The fleet's view of a server the bench started (bench/fleet/server-process.ts). */
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

export interface FleetOptions {
  devices: number;
  seed?: number;
  lossRate?: number;
  shiftTickets?: [number, number];
  /** The server stores nothing (OFD_STORE=noop): Z reports are not checked. */
  storeless?: boolean;
  /** Show progress bars (default: when stderr is a TTY). */
  progress?: boolean;
}

export interface PhaseOptions {
  name: string;
  mode: Mode;
  /** Offered receipts per second (open loop); omit for closed loop. */
  rate?: number;
  durationS: number;
  /** Seconds run before measuring (default 2). */
  warmupS?: number;
  /** Use only the first N registers (default all). */
  devices?: number;
  /** Share of the registers that go offline once during the phase and upload a burst. */
  offlineFraction?: number;
}

export interface PhaseResult {
  name: string;
  mode: Mode;
  loop: 'closed' | 'open';
  offeredRate: number | null;
  devices: number;
  seconds: number;
  receiptsPerSec: number;
  answersPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Receipts due in the open loop that never found a free register before the end. */
  notSent: number;
  serverCpuPct: number | null;
  serverRssMb: number | null;
  serverRssPeakMb: number | null;
  redisCpuPct: number | null;
  clientCpuPct: number;
  /** Server CPU % by thread group (main JavaScript thread, ClickHouse pools…). */
  serverThreadsPct: Record<string, number>;
  /** CPU % of the whole machine (100% = one core) and what neither the server, Redis nor the
   * simulator used: other work on a shared machine. */
  machineCpuPct: number | null;
  otherCpuPct: number | null;
  stats: PhaseStats;
}

export interface VerifyResult {
  devices: number;
  acknowledged: number;
  stored: number;
  mismatchedDevices: number;
  zMismatches: number;
  reportDiffs: number;
  retryMismatch: number;
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Busy and total jiffies of the whole machine (/proc/stat), to see what else was running. */
function machineCpu(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

export class Fleet {
  readonly devices: SimDevice[] = [];
  private links: TcpLink[] = [];
  private mode: Mode | null = null;
  /** Everything recorded over the fleet's life, for the final check. */
  readonly lifetime = new PhaseStats();

  private constructor(
    readonly target: Target,
    private readonly opts: FleetOptions,
  ) {}

  get progress(): boolean {
    return this.opts.progress ?? !!process.stderr.isTTY;
  }

  /** Registers the fleet through the admin API and says hello (INFO) from every register. */
  static async create(target: Target, opts: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(target, opts);
    const admin = new AdminClient(`http://${target.host}:${target.httpPort}`, target.adminToken);
    const bar = fleet.bar('register', opts.devices);
    const registered = await registerFleet(admin, opts.devices, (n) => bar?.update(n));
    bar?.stop();
    const random = seededRandom(opts.seed ?? 1);
    const tickets = ticketPool(random);
    for (const r of registered) {
      fleet.devices.push(
        new SimDevice(r.kkmId, r.token, {
          random: seededRandom((opts.seed ?? 1) * 100_003 + r.kkmId),
          tickets,
          lossRate: opts.lossRate ?? 0.002,
          shiftTickets: opts.shiftTickets ?? [150, 400],
          checkReports: !opts.storeless,
        }),
      );
    }
    return fleet;
  }

  private bar(label: string, total: number): SingleBar | null {
    if (!this.progress) return null;
    const bar = new SingleBar({
      format: `${label.padEnd(28)} [{bar}] {value}/{total} {extra}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
    });
    bar.start(total, 0, { extra: '' });
    return bar;
  }

  private useMode(mode: Mode): void {
    if (this.mode === mode) return;
    this.closeLinks();
    this.mode = mode;
    for (const d of this.devices) d.transport = this.transport(mode);
  }

  private transport(mode: Mode): Transport {
    if (mode === 'per-request') return tcpPerRequest(this.target.tcpPort, this.target.host);
    const link = new TcpLink(this.target.tcpPort, this.target.host, 15_000);
    this.links.push(link);
    return link.send;
  }

  private closeLinks(): void {
    for (const l of this.links) l.close();
    this.links = [];
  }

  /** INFO from every register (its first contact: the server builds its state). */
  async hello(concurrency = 64): Promise<number> {
    this.useMode('persistent');
    const ref: StatsRef = { current: this.lifetime };
    const bar = this.bar('hello (INFO)', this.devices.length);
    const started = performance.now();
    let done = 0;
    await pool(this.devices, concurrency, async (d) => {
      await d.hello(ref);
      bar?.update(++done);
    });
    bar?.stop();
    return (performance.now() - started) / 1000;
  }

  async runPhase(p: PhaseOptions): Promise<PhaseResult> {
    this.useMode(p.mode);
    const devices = this.devices.slice(0, p.devices ?? this.devices.length);
    const warmupMs = (p.warmupS ?? 2) * 1000;
    const ref: StatsRef = { current: new PhaseStats() };
    const warmupStats = ref.current;
    const startedAt = performance.now();
    const measureFrom = startedAt + warmupMs;
    const endAt = measureFrom + p.durationS * 1000;

    // Offline bursts start somewhere in the first half of the measured window.
    const offline = Math.round(devices.length * (p.offlineFraction ?? 0));
    for (let i = 0; i < offline; i++) {
      const d = devices[Math.floor((i * devices.length) / offline)]!;
      d.offlineAt = measureFrom + Math.random() * p.durationS * 500;
      d.offlineMs = 2000 + Math.floor(Math.random() * 2000);
    }

    let measured: PhaseStats | null = null;
    type Cpu = {
      server: number | null;
      redis: number | null;
      client: NodeJS.CpuUsage;
      threads: Record<string, number>;
      machine: { busy: number; total: number } | null;
    };
    let cpuStart: Cpu | null = null;
    let rssPeak = 0;
    let receiptsAtEnd = 0;
    let answersAtEnd = 0;
    let cpuEnd: Cpu | null = null;
    const threads = () => {
      try {
        return this.target.threads?.() ?? {};
      } catch {
        return {};
      }
    };
    const sample = () => {
      try {
        return this.target.sample?.() ?? null;
      } catch {
        return null;
      }
    };
    const bar = this.bar(p.name, p.durationS);
    let lastReceipts = 0;
    let lastTick = performance.now();
    let rate = 0;
    const monitor = setInterval(() => {
      const now = performance.now();
      const s = sample();
      if (measured && s) rssPeak = Math.max(rssPeak, s.rssBytes);
      const cur = ref.current;
      if (now - lastTick >= 1000) {
        rate = ((cur.receipts - lastReceipts) * 1000) / (now - lastTick);
        lastReceipts = cur.receipts;
        lastTick = now;
      }
      if (bar) {
        const p99 = cur.latency.totalCount ? cur.latency.getValueAtPercentile(99) / 1000 : 0;
        const phase = measured ? '' : 'warm-up ';
        bar.update(Math.max(0, Math.min(p.durationS, Math.floor((now - measureFrom) / 1000))), {
          extra: `${phase}${Math.round(rate)} receipts/s, p99 ${p99.toFixed(1)} ms, errors ${cur.errors}`,
        });
      }
    }, 250);

    const startMeasuring = async () => {
      await sleep(Math.max(0, measureFrom - performance.now()));
      measured = new PhaseStats();
      ref.current = measured;
      const s = sample();
      rssPeak = s?.rssBytes ?? 0;
      cpuStart = {
        server: s?.cpuSeconds ?? null,
        redis: await redisCpuSeconds(this.target.redisUrl ?? 'redis://127.0.0.1:6379'),
        client: process.cpuUsage(),
        threads: threads(),
        machine: machineCpu(),
      };
      await sleep(Math.max(0, endAt - performance.now()));
      receiptsAtEnd = measured.receipts;
      answersAtEnd = measured.answers;
      const e = sample();
      cpuEnd = {
        server: e?.cpuSeconds ?? null,
        redis: await redisCpuSeconds(this.target.redisUrl ?? 'redis://127.0.0.1:6379'),
        client: process.cpuUsage(),
        threads: threads(),
        machine: machineCpu(),
      };
    };
    const measuring = startMeasuring();

    let notSent = 0;
    if (p.rate === undefined) {
      await Promise.all(
        devices.map(async (d) => {
          while (performance.now() < endAt) await d.step(ref);
        }),
      );
    } else {
      const rateMs = p.rate / 1000;
      const idle = [...devices];
      const backlog: number[] = [];
      let issued = 0;
      const running = new Set<Promise<void>>();
      const run = (d: SimDevice, dueAt: number): void => {
        const work = (async () => {
          let due: number | undefined = dueAt;
          while (due !== undefined) {
            await d.step(ref, due);
            due = performance.now() < endAt ? backlog.shift() : undefined;
          }
          idle.push(d);
        })();
        running.add(work);
        void work.finally(() => running.delete(work));
      };
      await new Promise<void>((resolve) => {
        const tick = () => {
          const now = performance.now();
          const until = Math.min(now, endAt);
          const due = Math.floor((until - startedAt) * rateMs);
          while (issued < due) {
            issued++;
            const dueAt = startedAt + issued / rateMs;
            const d = idle.pop();
            if (d) run(d, dueAt);
            else backlog.push(dueAt);
          }
          if (now >= endAt) {
            clearInterval(timer);
            resolve();
          }
        };
        const timer = setInterval(tick, 1);
      });
      notSent = backlog.length;
      backlog.length = 0;
      while (running.size) await Promise.all([...running]);
    }
    await measuring;
    clearInterval(monitor);
    if (bar) {
      bar.update(p.durationS, { extra: `done` });
      bar.stop();
    }
    for (const d of devices) d.offlineAt = null;
    const stats = measured ?? warmupStats;
    merge(this.lifetime, warmupStats);
    merge(this.lifetime, stats);

    const seconds = p.durationS;
    const start = cpuStart as unknown as Cpu;
    const end = cpuEnd as unknown as Cpu;
    const serverThreadsPct: Record<string, number> = {};
    for (const [group, cpu] of Object.entries(end.threads)) {
      const pctUsed = ((cpu - (start.threads[group] ?? 0)) / seconds) * 100;
      if (pctUsed >= 0.5) serverThreadsPct[group] = pctUsed;
    }
    const pct = (a: number | null, b: number | null) =>
      a === null || b === null ? null : ((b - a) / seconds) * 100;
    const clientUs =
      end.client.user + end.client.system - (start.client.user + start.client.system);
    const machineCpuPct =
      start.machine && end.machine && end.machine.total > start.machine.total
        ? ((end.machine.busy - start.machine.busy) / (end.machine.total - start.machine.total)) *
          cpus().length *
          100
        : null;
    const serverCpuPct = pct(start.server, end.server);
    const redisCpuPct = pct(start.redis, end.redis);
    const clientCpuPct = clientUs / 1e4 / seconds;
    const otherCpuPct =
      machineCpuPct === null
        ? null
        : Math.max(0, machineCpuPct - (serverCpuPct ?? 0) - (redisCpuPct ?? 0) - clientCpuPct);
    const last = sample();
    const h = stats.latency;
    const ms = (q: number) => (h.totalCount ? h.getValueAtPercentile(q) / 1000 : 0);
    return {
      name: p.name,
      mode: p.mode,
      loop: p.rate === undefined ? 'closed' : 'open',
      offeredRate: p.rate ?? null,
      devices: devices.length,
      seconds,
      receiptsPerSec: receiptsAtEnd / seconds,
      answersPerSec: answersAtEnd / seconds,
      p50Ms: ms(50),
      p99Ms: ms(99),
      p999Ms: ms(99.9),
      maxMs: h.totalCount ? h.maxValue / 1000 : 0,
      notSent,
      serverCpuPct,
      serverRssMb: last ? last.rssBytes / 2 ** 20 : null,
      serverRssPeakMb: rssPeak ? rssPeak / 2 ** 20 : null,
      redisCpuPct,
      clientCpuPct,
      serverThreadsPct,
      machineCpuPct,
      otherCpuPct,
      stats,
    };
  }

  /**
   * Stored against acknowledged, through the server's own reports: every register closes its
   * open shift (the CLOSE_SHIFT answer carries the server's Z report, computed from the stored
   * documents) or asks for its last Z report, and compares the receipts it counts since
   * registration with the receipts the register had acknowledged.
   */
  async verify(concurrency = 32): Promise<VerifyResult> {
    this.useMode('persistent');
    const ref: StatsRef = { current: new PhaseStats() };
    const bar = this.bar('verify (Z reports)', this.devices.length);
    let done = 0;
    const checks = await pool(this.devices, concurrency, async (d) => {
      const c = await d.verify(ref);
      bar?.update(++done);
      return c;
    });
    bar?.stop();
    merge(this.lifetime, ref.current);
    let acknowledged = 0;
    let stored = 0;
    let mismatched = 0;
    const notes = [...this.lifetime.notes];
    checks.forEach((c, i) => {
      const a = c.device.reduce((x, y) => x + y, 0);
      const s = c.server.reduce((x, y) => x + y, 0);
      acknowledged += a;
      stored += s;
      if (c.server.some((n, op) => n !== c.device[op])) {
        mismatched++;
        if (notes.length < 30) {
          notes.push(`device ${this.devices[i]!.id}: server ${c.server}, acknowledged ${c.device}`);
        }
      }
    });
    return {
      devices: this.devices.length,
      acknowledged,
      stored,
      mismatchedDevices: mismatched,
      zMismatches: this.lifetime.zMismatches,
      reportDiffs: this.lifetime.reportDiffs,
      retryMismatch: this.lifetime.retryMismatch,
      notes,
    };
  }

  close(): void {
    this.closeLinks();
  }
}

function merge(into: PhaseStats, from: PhaseStats): void {
  if (into === from) return;
  into.latency.add(from.latency);
  into.answers += from.answers;
  into.receipts += from.receipts;
  into.documents += from.documents;
  for (const [c, n] of from.codes) into.codes.set(c, (into.codes.get(c) ?? 0) + n);
  for (const [m, n] of from.transportErrors) {
    into.transportErrors.set(m, (into.transportErrors.get(m) ?? 0) + n);
  }
  into.lostAnswers += from.lostAnswers;
  into.retryIdentical += from.retryIdentical;
  into.retryMismatch += from.retryMismatch;
  into.resends += from.resends;
  into.offlineBursts += from.offlineBursts;
  into.offlineReceipts += from.offlineReceipts;
  into.shiftsClosed += from.shiftsClosed;
  into.zMismatches += from.zMismatches;
  into.reportDiffs += from.reportDiffs;
  into.abandoned += from.abandoned;
  for (const n of from.notes) into.note(n);
}
