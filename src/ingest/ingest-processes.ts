// The server process's side of a multi-process node (OFD_INGEST_PROCESSES=N): N child
// processes (node:cluster workers) accept KKM TCP connections on the shared port — the
// server process hands each new connection to one of them in turn — and run the whole
// command path, each on its own JavaScript thread and within its own file-descriptor limit.
// Their ClickHouse reads and their fiscal documents come back here over IPC: the embedded
// engine lives in this process, and every process's rows share this process's group commits.
// A child that dies is replaced; stopping asks each to finish what it is answering first.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { MetricsJson } from '../api/metrics.js';
import { clickHouseHandlers } from '../storage/clickhouse-ipc.js';
import type { RunningServer } from '../server.js';
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
const STOP_TIMEOUT_MS = 20_000;

export async function startIngestProcesses(
  count: number,
  server: Pick<RunningServer, 'ch' | 'writer'>,
  log: Logger,
): Promise<IngestProcesses> {
  // Structured clone rather than JSON: rows are arrays of numbers and strings, sent as they are.
  cluster.setupPrimary({ serialization: 'advanced' });
  const children = new Map<number, Child>();
  let stopping = false;

  const fork = (slot: number): Child => {
    const worker = cluster.fork({ OFD_INGEST_PROCESS: String(slot) });
    let announce!: (port: number) => void;
    let failed!: (error: Error) => void;
    const ready = new Promise<number>((resolve, reject) => {
      announce = resolve;
      failed = reject;
    });
    ready.catch(() => {}); // a replacement's start-up is awaited by nobody
    const peer = new IpcPeer((m) => worker.send(m), {
      ...clickHouseHandlers(server.ch, server.writer),
      ready: (p: { tcpPort: number }) => announce(p.tcpPort),
    });
    worker.on('message', (m: unknown) => peer.receive(m));
    worker.on('exit', (code, signal) => {
      peer.close(`ingest process ${slot} exited`);
      failed(new Error(`ingest process ${slot} exited (${code ?? signal}) while starting`));
      children.delete(slot);
      if (stopping) return;
      log.error({ slot, pid: worker.process.pid, code, signal }, 'ingest process died; restarting');
      setTimeout(() => {
        if (!stopping) children.set(slot, fork(slot));
      }, RESTART_DELAY_MS).unref();
    });
    return { worker, peer, ready };
  };

  for (let slot = 0; slot < count; slot++) children.set(slot, fork(slot));
  const ports = await Promise.all([...children.values()].map((c) => c.ready));
  log.info(
    { processes: count, pids: [...children.values()].map((c) => c.worker.process.pid) },
    'ingest processes started',
  );

  return {
    tcpPort: ports[0]!,
    pids: () => [...children.values()].map((c) => c.worker.process.pid!),
    async metrics() {
      const all = await Promise.allSettled(
        [...children.values()].map((c) => c.peer.call<MetricsJson>('metrics')),
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
