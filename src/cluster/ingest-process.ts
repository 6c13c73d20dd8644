// One ingest process of a multi-process node (see ingest-processes.ts): the command path and
// the KKM TCP listener of a whole server, with ClickHouse reached through the server process
// over IPC. It stops when asked (or on SIGTERM/SIGINT) after answering what is in flight, and
// at once when the server process is gone, since nothing it answered could be committed.
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { startServer } from '../app/server.js';
import { ipcDb, ipcInsertRows } from './ipc-db.js';
import { IpcPeer } from './ipc.js';

export async function runIngestProcess(config: Config, log: Logger): Promise<void> {
  let stop: () => Promise<void> = async () => process.exit(0);
  let metrics: () => Promise<unknown> = async () => [];
  const peer = new IpcPeer((m) => process.send!(m), {
    metrics: () => metrics(),
    stop: () => stop(),
  });
  process.on('message', (m: unknown) => peer.receive(m));
  process.on('disconnect', () => {
    log.error('the server process is gone; exiting');
    process.exit(1);
  });

  const server = await startServer({ ...config, roles: new Set(['ingest']) }, log, {
    db: ipcDb(peer),
    insertRows: ipcInsertRows(peer),
    // Its writer only forwards rows: the commits (and their metrics) are the server process's.
    commitMetrics: false,
    http: false,
    tcp: true,
  });
  metrics = () => {
    server.metrics.pendingRows.set(server.writer.pendingRows);
    return server.metrics.registry.getMetricsAsJSON();
  };
  let stopping: Promise<void> | null = null;
  stop = () => {
    stopping ??= server.close().then(
      () => {
        log.info('ingest process stopped');
        setImmediate(() => process.exit(0));
      },
      (err: unknown) => {
        log.error({ err }, 'ingest process stop failed');
        process.exit(1);
      },
    );
    return stopping;
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  await peer.call('ready', { tcpPort: server.tcp!.port });
}
