// The one fleet of simulated registers (register.ts) for tests and benches, over real TCP
// against a running server. Two ways to drive it:
//   - continuously (start, waitForAcks, stop, oneMoreEach): every register sends receipts with a
//     pause between them while a test or the soak injects faults; afterwards every acknowledged
//     ticket number (the ledger, `acked()`) is compared with what ClickHouse holds (ledger.ts);
//   - in measured phases (the benches: hello, runPhase, verify): a closed loop (every register
//     sends its next request as soon as it has its answer) or an open loop (receipts arrive at
//     a fixed rate and go to whichever register is free), with the server's CPU and RSS sampled
//     while a phase runs, and the end-of-run check of stored against acknowledged receipts
//     through the server's own Z reports.
// Options choose the rest: a register's working day (shifts) or receipts only, pretended
// answer losses, the share of registers speaking 2.0.3, timeouts, retry pauses and give-up.
import { cpus } from 'node:os';
import { SingleBar } from 'cli-progress';
import { seededRandom } from '../../../src/sim/documents.js';
import { VERSION_203 } from '../../../src/protocol/versions.js';
import { CURRENT_VERSION } from '../../../src/protocol/header.js';
import {
  AdminClient,
  pool,
  registerFleet,
  type AdminTarget,
  type RegisteredDevice,
} from '../admin-client.js';
import { machineCpu, redisCpuSeconds, type ProcessSample } from '../process-stats.js';
import { FleetRegister, sleep, type Attempt, type Mode } from './register.js';
import { PhaseStats, type StatsRef } from './stats.js';
import { ticketPool, type ItemRange } from './workload.js';

/** A server the fleet measures while a phase runs (bench/fleet/server-process.ts builds one). */
export interface Target extends AdminTarget {
  host: string;
  tcpPort: number;
  redisUrl?: string;
  /** Samples the server process, when the bench started it. */
  sample?: () => ProcessSample;
  /** CPU seconds by server thread group. */
  threads?: () => Record<string, number>;
}

export interface FleetOptions {
  tcpPort: number;
  host?: string;
  devices: RegisteredDevice[];
  seed?: number;
  /** Share of the registers speaking protocol 2.0.3 (header VERSION 203); default 0. */
  share203?: number;
  /** A working day: opening float, withdrawals, shift closures checked against the register's
   * books (default false: receipts only). */
  shifts?: boolean;
  /** Probability that a register pretends to lose an answer and resends (default 0). */
  lossRate?: number;
  /** Receipts per shift (default 150 to 400). */
  shiftTickets?: [number, number];
  /** Lines per receipt (default 1 to 20). */
  ticketItems?: ItemRange;
  /** The server stores nothing (OFD_STORE=noop): Z reports are not checked. */
  storeless?: boolean;
  /** Keep every acknowledged ticket number for `acked()` (default true). */
  ledger?: boolean;
  /** Continuous run: pause between a register's receipts, drawn from [min, max] ms. */
  thinkMs?: [number, number];
  /** How long a register waits for an answer before it counts it lost (default 5000). */
  answerTimeoutMs?: number;
  /** A request still unanswered after this long is given up (counted; default 60 s). */
  giveUpMs?: number;
  /** Pause before a resend, drawn from [min, max] ms (default 50 to 200). */
  retryDelayMs?: [number, number];
  onAttempt?: (a: Attempt) => void;
  /** The server to sample in phases. */
  server?: Target;
  /** Show progress bars in phases (default: when stderr is a TTY). */
  progress?: boolean;
}

/**
 * What a benchmark's registers do unless told otherwise (`Fleet.create`): a working day with
 * its Z checks, 0.2% of answers pretended lost, no ledger (the Z reports check the counts), and
 * a longer answer timeout, so a saturated server's tail is measured rather than cut.
 */
export const MEASURING = {
  shifts: true,
  lossRate: 0.002,
  ledger: false,
  answerTimeoutMs: 15_000,
} satisfies Partial<FleetOptions>;

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
  resendDifferent: number;
  notes: string[];
}

export class Fleet {
  readonly devices: FleetRegister[];
  /** Everything recorded over the fleet's life (a phase is added when it ends). */
  readonly stats = new PhaseStats();
  private mode: Mode | null = null;
  private running = false;
  private loops: Promise<void>[] = [];
  private ackWaiters: { target: number; resolve: () => void }[] = [];

  constructor(private readonly o: FleetOptions) {
    const seed = o.seed ?? 1;
    const random = seededRandom(seed);
    const pools = new Map<number, ReturnType<typeof ticketPool>>();
    const poolOf = (version: number) => {
      if (!pools.has(version)) {
        pools.set(version, ticketPool(random, version, undefined, undefined, o.ticketItems));
      }
      return pools.get(version)!;
    };
    const share203 = o.share203 ?? 0;
    this.devices = o.devices.map((reg, i) => {
      // Spread evenly: register i speaks 2.0.3 when the share's count steps up at i.
      const version =
        Math.floor((i + 1) * share203) > Math.floor(i * share203) ? VERSION_203 : CURRENT_VERSION;
      return new FleetRegister(reg, {
        random: seededRandom(seed * 100_003 + reg.kkmId),
        tickets: poolOf(version),
        version,
        lossRate: o.lossRate ?? 0,
        shifts: o.shifts ?? false,
        shiftTickets: o.shiftTickets ?? [150, 400],
        checkReports: !o.storeless,
        ledger: o.ledger ?? true,
        giveUpMs: o.giveUpMs ?? 60_000,
        retryDelayMs: o.retryDelayMs ?? [50, 200],
        onAttempt: o.onAttempt,
      });
    });
  }

  /**
   * Registers `opts.devices` registers through the admin API of a server to measure: a fleet
   * with the benchmarks' defaults (MEASURING) unless `opts` says otherwise.
   */
  static async create(
    target: Target,
    opts: Omit<FleetOptions, 'tcpPort' | 'host' | 'devices' | 'server'> & { devices: number },
  ): Promise<Fleet> {
    const progress = opts.progress ?? !!process.stderr.isTTY;
    const bar = progressBar(progress, 'register', opts.devices);
    const admin = new AdminClient(target);
    const registered = await registerFleet(admin, opts.devices, (n) => bar?.update(n));
    bar?.stop();
    return new Fleet({
      ...MEASURING,
      ...opts,
      tcpPort: target.tcpPort,
      host: target.host,
      devices: registered,
      server: target,
    });
  }

  private get redisUrl(): string {
    return this.o.server?.redisUrl ?? 'redis://127.0.0.1:6379';
  }

  private bar(label: string, total: number): SingleBar | null {
    return progressBar(this.o.progress ?? !!process.stderr.isTTY, label, total);
  }

  /** Connects every register (done by whatever sends; a test sending by hand calls it). */
  connect(mode: Mode = 'persistent'): void {
    if (this.mode === mode) return;
    this.mode = mode;
    const timeout = this.o.answerTimeoutMs ?? 5000;
    for (const d of this.devices)
      d.connect(mode, this.o.tcpPort, this.o.host ?? '127.0.0.1', timeout);
  }

  // ---- continuous ------------------------------------------------------------------------

  /** Ticket numbers answered OK, by KKM (the ledger). */
  acked(): Map<number, string[]> {
    return new Map(this.devices.map((d) => [d.id, d.acked]));
  }

  /** Every register sends receipts, one after another with a pause, until `stop()`. */
  start(): void {
    this.connect('persistent');
    this.running = true;
    this.loops = this.devices.map((d) => this.loop(d));
  }

  /** Lets every register finish the receipt it is sending (answered), then stops. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
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

  /** One more receipt from every register (after the faults): the result code of each. */
  async oneMoreEach(): Promise<(number | null)[]> {
    this.connect('persistent');
    const ref: StatsRef = { current: this.stats };
    return Promise.all(this.devices.map((d) => d.step(ref)));
  }

  private async loop(d: FleetRegister): Promise<void> {
    const [min, max] = this.o.thinkMs ?? [5, 40];
    const ref: StatsRef = { current: this.stats };
    while (this.running) {
      await d.step(ref);
      this.wakeWaiters();
      await sleep(min + d.s.random() * (max - min));
    }
  }

  private wakeWaiters(): void {
    const acked = this.stats.acked;
    const ready = this.ackWaiters.filter((w) => acked >= w.target);
    if (!ready.length) return;
    this.ackWaiters = this.ackWaiters.filter((w) => acked < w.target);
    for (const w of ready) w.resolve();
  }

  // ---- measured phases -------------------------------------------------------------------

  /** INFO from every register (its first contact: the server builds its state). */
  async hello(concurrency = 64): Promise<number> {
    this.connect('persistent');
    const ref: StatsRef = { current: this.stats };
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
    this.connect(p.mode);
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
        return this.o.server?.threads?.() ?? {};
      } catch {
        return {};
      }
    };
    const sample = () => {
      try {
        return this.o.server?.sample?.() ?? null;
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
        rate = ((cur.acked - lastReceipts) * 1000) / (now - lastTick);
        lastReceipts = cur.acked;
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
        redis: await redisCpuSeconds(this.redisUrl),
        client: process.cpuUsage(),
        threads: threads(),
        machine: machineCpu(),
      };
      await sleep(Math.max(0, endAt - performance.now()));
      receiptsAtEnd = measured.acked;
      answersAtEnd = measured.answers;
      const e = sample();
      cpuEnd = {
        server: e?.cpuSeconds ?? null,
        redis: await redisCpuSeconds(this.redisUrl),
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
      const run = (d: FleetRegister, dueAt: number): void => {
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
    this.stats.add(warmupStats);
    this.stats.add(stats);

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
    this.connect('persistent');
    const ref: StatsRef = { current: new PhaseStats() };
    const bar = this.bar('verify (Z reports)', this.devices.length);
    let done = 0;
    const checks = await pool(this.devices, concurrency, async (d) => {
      const c = await d.verify(ref);
      bar?.update(++done);
      return c;
    });
    bar?.stop();
    this.stats.add(ref.current);
    let acknowledged = 0;
    let stored = 0;
    let mismatched = 0;
    const notes = [...this.stats.notes];
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
      zMismatches: this.stats.zMismatches,
      reportDiffs: this.stats.reportDiffs,
      resendDifferent: this.stats.resendDifferent,
      notes,
    };
  }

  close(): void {
    for (const d of this.devices) d.disconnect();
  }
}

function progressBar(show: boolean, label: string, total: number): SingleBar | null {
  if (!show) return null;
  const bar = new SingleBar({
    format: `${label.padEnd(28)} [{bar}] {value}/{total} {extra}`,
    barsize: 24,
    hideCursor: true,
    clearOnComplete: false,
  });
  bar.start(total, 0, { extra: '' });
  return bar;
}
