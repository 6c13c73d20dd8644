// The server process's side of a multi-process node (OFD_INGEST_PROCESSES=N): N child
// processes (node:cluster workers) accept KKM TCP connections on the shared port — the
// server process hands each new connection to one of them in turn — and run the whole
// command path, each on its own JavaScript thread and within its own file-descriptor limit.
// Their ClickHouse reads and their fiscal documents come back here over IPC: the embedded
// engine lives in this process, and every process's rows share this process's group commits.
// A child that dies is replaced; stopping asks each to finish what it is answering first.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { MetricsJson } from '../telemetry/metrics.js';
import { dbHandlers } from './ipc-db.js';
import type { RunningServer } from '../app/server.js';
import { IpcPeer } from './ipc.js';

export interface IngestProcesses {
  /** The KKM TCP port they share. */
  readonly tcpPort: number;
  pids(): number[];
  /** Each running child's metrics. */
  metrics(): Promise<MetricsJson[]>;
  /** Asks every child to stop (in-flight requests are answered), then waits for them. */
  close(): Promise<void>;
}

interface Child {
  worker: Worker;
  peer: IpcPeer;
  ready: Promise<number>;
}

const RESTART_DELAY_MS = 1000;
/** A child that dies sooner than this after its start waits twice as long for the next. */
const CRASH_LOOP_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const METRICS_TIMEOUT_MS = 2000;

export async function startIngestProcesses(
  count: number,
  server: Pick<RunningServer, 'db' | 'writer'>,
  log: Logger,
): Promise<IngestProcesses> {
  // Structured clone rather than JSON: rows are arrays of numbers and strings, sent as they are.
  cluster.setupPrimary({ serialization: 'advanced' });
  const children = new Map<number, Child>();
  const restartDelay = new Map<number, number>();
  let stopping = false;

  const fork = (slot: number): Child => {
    const worker = cluster.fork({ OFD_INGEST_PROCESS: String(slot) });
    const startedAt = Date.now();
    let announce!: (port: number) => void;
    let failed!: (error: Error) => void;
    const ready = new Promise<number>((resolve, reject) => {
      announce = resolve;
      failed = reject;
    });
    ready.catch(() => {}); // a replacement's start-up is awaited by nobody
    const peer = new IpcPeer(
      (m) => {
        // A reply to a child killed meanwhile: sending on the closed channel would raise an
        // 'error' on the worker a tick later; its calls fail with the channel anyway.
        if (!worker.isConnected()) throw new Error(`ingest process ${slot} is gone`);
        worker.send(m);
      },
      {
        ...dbHandlers(server.db, server.writer),
        ready: (p: { tcpPort: number }) => announce(p.tcpPort),
      },
    );
    worker.on('message', (m: unknown) => peer.receive(m));
    worker.on('error', (err) => log.warn({ err, slot }, 'ingest process channel error'));
    worker.on('disconnect', () => peer.close(`ingest process ${slot} disconnected`));
    worker.on('exit', (code, signal) => {
      peer.close(`ingest process ${slot} exited`);
      failed(new Error(`ingest process ${slot} exited (${code ?? signal}) while starting`));
      children.delete(slot);
      if (stopping) return;
      const delay =
        Date.now() - startedAt < CRASH_LOOP_MS
          ? Math.min(MAX_RESTART_DELAY_MS, (restartDelay.get(slot) ?? RESTART_DELAY_MS / 2) * 2)
          : RESTART_DELAY_MS;
      restartDelay.set(slot, delay);
      log.error(
        { slot, pid: worker.process.pid, code, signal, restartInMs: delay },
        'ingest process died; restarting',
      );
      setTimeout(() => {
        if (!stopping) children.set(slot, fork(slot));
      }, delay).unref();
    });
    return { worker, peer, ready };
  };

  for (let slot = 0; slot < count; slot++) children.set(slot, fork(slot));
  let ports: number[];
  let startTimer: NodeJS.Timeout | undefined;
  try {
    ports = await Promise.race([
      Promise.all([...children.values()].map((c) => c.ready)),
      new Promise<never>((_, reject) => {
        startTimer = setTimeout(
          () => reject(new Error(`ingest processes not ready within ${START_TIMEOUT_MS} ms`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    stopping = true;
    for (const c of children.values()) c.worker.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(startTimer);
  }
  log.info(
    { processes: count, pids: [...children.values()].map((c) => c.worker.process.pid) },
    'ingest processes started',
  );

  return {
    tcpPort: ports[0]!,
    pids: () => [...children.values()].map((c) => c.worker.process.pid!),
    async metrics() {
      // A child that does not answer in time is left out of this scrape rather than hang it.
      const all = await Promise.allSettled(
        [...children.values()].map((c) =>
          Promise.race([
            c.peer.call<MetricsJson>('metrics'),
            new Promise<never>((_, reject) =>
              setTimeout(() => reject(new Error('no metrics in time')), METRICS_TIMEOUT_MS).unref(),
            ),
          ]),
        ),
      );
      return all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    },
    async close() {
      stopping = true;
      await Promise.all(
        [...children.values()].map(async ({ worker, peer }) => {
          const exited = new Promise<void>((resolve) => {
            if (worker.isDead()) resolve();
            else worker.once('exit', () => resolve());
          });
          peer.call('stop').catch(() => {});
          const killer = setTimeout(() => worker.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(killer);
        }),
      );
    },
  };
}
