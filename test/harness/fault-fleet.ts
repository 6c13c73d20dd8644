// The fault fleet of the reliability test (test/reliability/faults.test.ts), the ingest-process
// test and the soak (bench/soak.ts): registers sending tickets continuously. A register
// resends a request it got no answer to, or 254 for, unchanged (same TOKEN and REQNUM) on a new
// connection until it is answered, as the protocol says (sections 2.4 and 5), and keeps a
// ledger of every ticket number it was answered OK. The ledger is then compared with what
// ClickHouse holds, counted without FINAL. The server and Redis it runs against come from
// test/harness (child-server.ts, private-redis.ts).
import type { Db } from '../../src/storage/db.js';
import { ResultCode } from '../../src/protocol/schema.js';
import { requests, seededRandom, ticket, type Random } from '../../src/sim/documents.js';
import { KkmDevice, TcpLink, type Answer } from '../../src/sim/kkm-client.js';
import type { RegisteredDevice } from './admin-client.js';

export const OK = ResultCode.RESULT_TYPE_OK;
export const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One answer (or a lost one: code null) as a register saw it; times are performance.now(). */
export interface Attempt {
  kkmId: number;
  code: number | null;
  sentAt: number;
  at: number;
}

export interface FleetOptions {
  tcpPort: number;
  devices: RegisteredDevice[];
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
    reg: RegisteredDevice,
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
