// `npm start`: runs the configured roles (all of them by default) until SIGTERM or SIGINT,
// then stops accepting, finishes in-flight commits, answers them and exits 0.
import { ConfigError, loadConfig } from './config.js';
import { createLogger, startServer } from './server.js';

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
const log = createLogger(config);
const server = await startServer(config, log);
log.info(
  {
    tcpPort: server.tcp?.port,
    httpPort: server.httpPort,
    roles: [...config.roles],
    dataDir: config.dataDir,
  },
  'OFD server started',
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  server.close().then(
    () => process.exit(0),
    (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
