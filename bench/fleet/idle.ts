// Idle device connections: as many as the machine allows (up to the asked number), held open
// by helper processes (each within its own file-descriptor limit and from its own loopback
// source address, so the ephemeral port range is no limit), while the server's RSS is measured.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, type ServerProcess } from './server-process.js';

export interface IdleResult {
  asked: number;
  /** What the file-descriptor limits allowed to try. */
  attempted: number;
  /** Open on the server side once every helper was ready (its own gauge). */
  held: number;
  failed: number;
  serverFdLimit: number;
  clientFdLimit: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  rssGrowthMb: number;
  kibPerConnection: number;
  /** RSS growth extrapolated to 50,000 connections. */
  growthAt50kMb: number;
  openSeconds: number;
  errors: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function ownFdLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 1024);
}

async function serverConnections(server: ServerProcess): Promise<number | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`);
    const text = await res.text();
    const m = /^ofd_tcp_connections(?:\{[^}]*\})? (\d+)/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export async function idleConnections(
  server: ServerProcess,
  asked: number,
  onProgress: (held: number, total: number) => void = () => {},
  holdSeconds = 5,
): Promise<IdleResult> {
  const serverFdLimit = server.fdLimit();
  const clientFdLimit = ownFdLimit();
  const attempted = Math.max(0, Math.min(asked, server.fdRoom()));
  // Each helper: within its fd limit, and at most 25,000 from one source address.
  const perHelper = Math.max(1, Math.min(clientFdLimit - 128, 25_000));
  const helpers = Math.ceil(attempted / perHelper);

  // RSS moves by tens of MiB with the garbage collector alone: take the lowest of a few samples
  // before and the highest while the connections are open, so the growth is never understated.
  const rssSamples = async (ms: number) => {
    const out: number[] = [];
    for (const end = performance.now() + ms; performance.now() < end; await sleep(250)) {
      out.push(server.sample().rssBytes);
    }
    return out;
  };
  const before = Math.min(...(await rssSamples(2000)));
  let peakWhileOpening = before;
  const sampler = setInterval(() => {
    peakWhileOpening = Math.max(peakWhileOpening, server.sample().rssBytes);
  }, 250);
  const started = performance.now();
  const children: ChildProcess[] = [];
  const progress = new Array<number>(helpers).fill(0);
  let failed = 0;
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: helpers }, (_, i) => {
      const count = Math.min(perHelper, attempted - i * perHelper);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'bench', 'fleet', 'idle-holder.ts'),
          '127.0.0.1',
          String(server.tcpPort),
          String(count),
          `127.0.0.${2 + i}`,
        ],
        { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      children.push(child);
      return new Promise<void>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! });
        rl.on('line', (line) => {
          const [word, a, b, c] = line.split(' ');
          if (word === 'progress') {
            progress[i] = Number(a);
            onProgress(
              progress.reduce((x, y) => x + y, 0),
              attempted,
            );
          } else if (word === 'ready') {
            failed += Number(b);
            if (c && c !== '{}') errors.push(c);
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`idle helper exited (${code})`)));
      });
    }),
  );
  const openSeconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const during = await rssSamples(holdSeconds * 1000);
  const held = (await serverConnections(server)) ?? attempted - failed;
  const after = Math.max(peakWhileOpening, ...during);
  for (const c of children) c.stdin?.end();
  await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
  const growth = (after - before) / 2 ** 20;
  const perConn = held > 0 ? ((after - before) / 1024) * (1 / held) : 0;
  return {
    asked,
    attempted,
    held,
    failed,
    serverFdLimit,
    clientFdLimit,
    rssBeforeMb: before / 2 ** 20,
    rssAfterMb: after / 2 ** 20,
    rssGrowthMb: growth,
    kibPerConnection: perConn,
    growthAt50kMb: (perConn * 50_000) / 1024,
    openSeconds,
    errors: errors.join(' '),
  };
}

/** Open file descriptors of this process (for the report). */
export const ownOpenFds = (): number => readdirSync('/proc/self/fd').length;
