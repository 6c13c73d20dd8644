// Batches written to rotated, checksummed files, for audits and offline hand-over. Each batch is
// appended to the open segment as JSON lines (one document each, the reference format) and
// fsynced before it counts as taken. A segment is sealed when it passes its size or age: its
// SHA-256 goes into `<segment>.sha256` in `sha256sum -c` format, so a segment with its checksum
// file is complete and verifiable. A segment left open by a crash is sealed at the next start,
// cut back to its last whole line. After a crash between the fsync and the position update the
// same batch is appended again: readers deduplicate by key, as every receiver does.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  truncate,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Acknowledgement, ForwardedDocument } from './envelope.js';
import type { ForwardTransport } from './transport.js';

export interface FileTransportOptions {
  dir: string;
  /** A segment is sealed once it holds this many bytes, or is this old. */
  maxBytes: number;
  maxAgeMs: number;
}

const SEGMENT_RE = /^forwarded-\d{8}T\d{6}Z-\d{6}\.jsonl$/;

interface Segment {
  path: string;
  handle: FileHandle;
  hash: Hash;
  bytes: number;
  openedAt: number;
}

export class FileTransport implements ForwardTransport {
  readonly name = 'file';
  private segment: Segment | null = null;
  private recovered = false;
  private counter = 0;
  private readonly timer: NodeJS.Timeout;
  /** Sends and seals one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: FileTransportOptions) {
    // An idle segment is sealed on time too, not only when the next batch comes.
    this.timer = setInterval(
      () => void this.serial(() => this.sealIfDue()).catch(() => undefined),
      Math.min(o.maxAgeMs, 60_000),
    ).unref();
  }

  send(documents: readonly ForwardedDocument[]): Promise<Acknowledgement[]> {
    return this.serial(async () => {
      await this.sealIfDue();
      const segment = this.segment ?? (await this.openSegment());
      const text = Buffer.from(documents.map((d) => `${JSON.stringify(d)}\n`).join(''));
      await segment.handle.write(text);
      await segment.handle.datasync();
      segment.hash.update(text);
      segment.bytes += text.length;
      return [];
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.serial(() => this.seal());
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sealIfDue(): Promise<void> {
    const s = this.segment;
    if (s && (s.bytes >= this.o.maxBytes || Date.now() - s.openedAt >= this.o.maxAgeMs)) {
      await this.seal();
    }
  }

  private async openSegment(): Promise<Segment> {
    await mkdir(this.o.dir, { recursive: true });
    if (!this.recovered) {
      await this.sealLeftOpen();
      this.recovered = true;
    }
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const name = `forwarded-${stamp}-${String(++this.counter % 1e6).padStart(6, '0')}.jsonl`;
    const path = join(this.o.dir, name);
    const handle = await open(path, 'wx');
    this.segment = { path, handle, hash: createHash('sha256'), bytes: 0, openedAt: Date.now() };
    return this.segment;
  }

  private async seal(): Promise<void> {
    const s = this.segment;
    if (!s) return;
    this.segment = null;
    await s.handle.close();
    await writeChecksum(s.path, s.hash.digest('hex'));
  }

  /** Segments a crash left without a checksum: cut to the last whole line, then sealed. */
  private async sealLeftOpen(): Promise<void> {
    const names = new Set(await readdir(this.o.dir));
    for (const name of names) {
      if (!SEGMENT_RE.test(name) || names.has(`${name}.sha256`)) continue;
      const path = join(this.o.dir, name);
      const whole = await wholeLinesLength(path);
      if (whole < (await stat(path)).size) await truncate(path, whole);
      await writeChecksum(path, await fileDigest(path));
    }
  }
}

async function writeChecksum(path: string, hex: string): Promise<void> {
  const tmp = `${path}.sha256.tmp`;
  await writeFile(tmp, `${hex}  ${basename(path)}\n`, { flush: true });
  await rename(tmp, `${path}.sha256`);
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Bytes up to and including the last newline. */
async function wholeLinesLength(path: string): Promise<number> {
  let length = 0;
  let offset = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    const last = buf.lastIndexOf(0x0a);
    if (last >= 0) length = offset + last + 1;
    offset += buf.length;
  }
  return length;
}

/** Checks every sealed segment of a directory against its checksum file. */
export async function verifySegments(
  dir: string,
): Promise<{ file: string; ok: boolean; lines: number }[]> {
  const names = (await readdir(dir)).filter((n) => SEGMENT_RE.test(n)).sort();
  const out: { file: string; ok: boolean; lines: number }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const checksum = await readFile(`${path}.sha256`, 'utf8').catch(() => null);
    if (checksum === null) continue; // still open
    const [expected, file] = checksum.trim().split(/\s+/);
    const ok = file === name && expected === (await fileDigest(path));
    out.push({ file: name, ok, lines: await countLines(path) });
  }
  return out;
}

async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  }
  return n;
}
