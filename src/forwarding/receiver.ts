// The reference receiver (`npm run kgd-receiver`): a small HTTP server standing in for the tax
// authority, for tests, benches and demos. It takes batches in the reference format (POST, any
// path but /control and /stats), stores each document once by its key, checks the order per
// KKM, and answers 200 with acknowledgements: every `kkm_event` confirmed (unless told not to).
// It can be told to fail (503, nothing stored), to stall (hold the answer, after storing the
// batch or not) or to go down for a while (the port refuses connections):
//   POST /control {"mode": "ok" | "fail" | "stall" | "down", "forMs"?, "storeFirst"?,
//                  "confirmEvents"?}
//   GET /stats   what it holds: unique documents, duplicates, batches, order violations…
import { appendFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parseKey, type Acknowledgement, type ForwardedDocument } from './envelope.js';

export type ReceiverMode = 'ok' | 'fail' | 'stall' | 'down';

export interface ReceiverControl {
  mode: ReceiverMode;
  /** Back to ok after this long (down: the port is closed this long). */
  forMs?: number;
  /** stall: store the batch before holding its answer (so its resend is a duplicate). */
  storeFirst?: boolean;
  /** Confirm registry events in the answers (default true). */
  confirmEvents?: boolean;
}

export interface ReceiverStats {
  batches: number;
  /** Documents received, duplicates included. */
  received: number;
  /** Documents stored: one per key. */
  unique: number;
  duplicates: number;
  /** A document of a KKM arrived after a later one of the same KKM and stream. */
  outOfOrder: number;
  /** A document of a KKM arrived with numbers missing before it. */
  gaps: number;
  kinds: Record<string, number>;
  kkms: number;
  refused: number;
  mode: ReceiverMode;
  /** From our server's receipt of a document to its arrival here, first arrivals only. */
  delayMs: { p50: number; p99: number; max: number; count: number };
}

export interface ReceiverOptions {
  port?: number;
  host?: string;
  /** Append every new document, as a JSON line, to this file. */
  outFile?: string;
  /** Largest request body accepted. */
  maxBodyBytes?: number;
}

interface Stored {
  doc: ForwardedDocument;
  at: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;

export class ReferenceReceiver {
  /** Stored documents by key, in order of first arrival. */
  readonly documents = new Map<string, Stored>();
  private readonly last = new Map<string, number>();
  private readonly delays: number[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<() => void>();
  private server: http.Server | null = null;
  private mode: ReceiverMode = 'ok';
  private storeFirst = true;
  private confirmEvents = true;
  private revert: NodeJS.Timeout | null = null;
  private counts = { batches: 0, received: 0, duplicates: 0, outOfOrder: 0, gaps: 0, refused: 0 };
  private readonly kinds: Record<string, number> = {};
  port = 0;

  constructor(private readonly o: ReceiverOptions = {}) {}

  get url(): string {
    return `http://${this.o.host ?? '127.0.0.1'}:${this.port}/documents`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port || this.o.port || 0, this.o.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Closes the port and drops every connection (a receiver that is down). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const release of this.held) release();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  control(c: ReceiverControl): void {
    if (this.revert) clearTimeout(this.revert);
    this.revert = null;
    if (c.confirmEvents !== undefined) this.confirmEvents = c.confirmEvents;
    this.storeFirst = c.storeFirst ?? true;
    this.mode = c.mode;
    if (c.mode !== 'stall') for (const release of this.held) release();
    if (c.mode === 'down') void this.stop();
    if (c.forMs !== undefined) {
      this.revert = setTimeout(() => {
        this.mode = 'ok';
        for (const release of this.held) release();
        void this.start();
      }, c.forMs);
    }
  }

  stats(): ReceiverStats {
    const sorted = [...this.delays].sort((a, b) => a - b);
    return {
      ...this.counts,
      unique: this.documents.size,
      kinds: { ...this.kinds },
      kkms: new Set([...this.last.keys()].map((k) => k.split(':')[0])).size,
      mode: this.mode,
      delayMs: {
        p50: quantile(sorted, 0.5),
        p99: quantile(sorted, 0.99),
        max: sorted.at(-1) ?? 0,
        count: sorted.length,
      },
    };
  }

  /** The keys of one KKM's stored documents, in order of first arrival. */
  keysOf(kkmId: number): string[] {
    return [...this.documents.keys()].filter((k) => parseKey(k)?.kkmId === kkmId);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const answer = (status: number, body: unknown) => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    try {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'GET' && path === '/stats') return answer(200, this.stats());
      if (req.method !== 'POST') return answer(405, { error: 'POST a batch' });
      const body = await this.body(req);
      if (path === '/control') {
        this.control(body as ReceiverControl);
        return answer(200, { mode: this.mode });
      }
      const documents = (body as { documents?: unknown }).documents;
      if (!Array.isArray(documents) || documents.some((d) => typeof d?.key !== 'string')) {
        return answer(400, { error: 'expected {"documents": [{"key", …}]}' });
      }
      if (this.mode === 'fail') {
        this.counts.refused++;
        return answer(503, { error: 'told to fail' });
      }
      if (this.mode === 'stall') {
        // As told when the batch came, whatever the mode is by the time it is answered.
        const storeFirst = this.storeFirst;
        const acknowledgements = storeFirst ? await this.store(documents) : [];
        await new Promise<void>((resolve) => {
          const release = () => (this.held.delete(release), resolve());
          this.held.add(release);
          req.socket.once('close', release);
        });
        // Released by a change of mode: a stalled batch not stored is refused.
        if (!storeFirst) return answer(503, { error: 'stalled' });
        return answer(200, { accepted: documents.length, acknowledgements });
      }
      const acknowledgements = await this.store(documents);
      return answer(200, { accepted: documents.length, acknowledgements });
    } catch (err) {
      answer(400, { error: (err as Error).message });
    }
  }

  private async store(documents: ForwardedDocument[]): Promise<Acknowledgement[]> {
    this.counts.batches++;
    const now = Date.now();
    const fresh: string[] = [];
    const acks: Acknowledgement[] = [];
    for (const doc of documents) {
      this.counts.received++;
      if (doc.kind === 'kkm_event' && this.confirmEvents) {
        acks.push({ key: doc.key, status: 'confirmed', reference: `KGD-${doc.key}` });
      }
      if (this.documents.has(doc.key)) {
        this.counts.duplicates++;
        continue;
      }
      this.documents.set(doc.key, { doc, at: now });
      this.kinds[doc.kind] = (this.kinds[doc.kind] ?? 0) + 1;
      const received = Date.parse(doc.receivedAt);
      if (doc.kind !== 'kkm_event' && Number.isFinite(received)) this.delays.push(now - received);
      const key = parseKey(doc.key);
      if (key) {
        const stream = `${key.kkmId}:${key.stream}`;
        const last = this.last.get(stream) ?? 0;
        if (key.seq < last) this.counts.outOfOrder++;
        else if (key.seq > last + 1) this.counts.gaps++;
        this.last.set(stream, Math.max(last, key.seq));
      }
      if (this.o.outFile) fresh.push(`${JSON.stringify(doc)}\n`);
    }
    if (fresh.length) await appendFile(this.o.outFile!, fresh.join(''));
    return acks;
  }

  private body(req: IncomingMessage): Promise<unknown> {
    const limit = this.o.maxBodyBytes ?? 64 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) req.destroy(new Error('body too large'));
        else chunks.push(c);
      });
      req.on('error', reject);
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
        } catch {
          reject(new Error('the body is not JSON'));
        }
      });
    });
  }
}
