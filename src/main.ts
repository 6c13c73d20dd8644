// `npm start`: runs the configured roles (all of them by default) until SIGTERM or SIGINT,
// then stops accepting, finishes in-flight commits, answers them and exits 0.
// With OFD_INGEST_PROCESSES=N the KKM TCP connections are served by N child processes
// (src/ingest/ingest-processes.ts); this file is then also each child's entry point.
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config/config.js';
import { runIngestProcess } from './cluster/ingest-process.js';
import { startIngestProcesses, type IngestProcesses } from './cluster/ingest-processes.js';
import { createLogger } from './app/logger.js';
import { startServer } from './app/server.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}

if (cluster.isWorker) {
  const log = createLogger(config).child({ ingestProcess: process.env.OFD_INGEST_PROCESS });
  await runIngestProcess(config, log);
} else {
  const log = createLogger(config);
  const separateTcp = config.ingestProcesses > 0 && config.roles.has('ingest');
  let processes: IngestProcesses | null = null;
  const server = await startServer(config, log, {
    tcp: separateTcp ? false : undefined,
    otherMetrics: separateTcp ? () => processes?.metrics() ?? Promise.resolve([]) : undefined,
  });
  if (separateTcp) {
    try {
      processes = await startIngestProcesses(config.ingestProcesses, server, log);
    } catch (error) {
      log.error({ err: error }, 'ingest processes did not start; stopping');
      await server.close();
      process.exit(1);
    }
  }
  log.info(
    {
      tcpPort: processes?.tcpPort ?? server.tcp?.port,
      httpPort: server.httpPort,
      roles: [...config.roles],
      ingestProcesses: processes ? config.ingestProcesses : 0,
      dataDir: config.dataDir,
    },
    'OFD server started',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Ingest processes first: what they are answering still needs this process's commits.
    (processes?.close() ?? Promise.resolve())
      .then(() => server.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
