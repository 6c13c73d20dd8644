// Starts a real server for a test file: embedded ClickHouse in a fresh temp DATA_DIR, the
// machine's Redis under a key prefix of its own (removed afterwards), ports chosen by the OS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { KkmDevice, TcpLink, type Transport } from '../../src/sim/kkm-client.js';
import { AdminClient, deleteKeys, uniqueBin } from '../harness/index.js';
import { spoolEnv } from '../harness/spool-env.js';

export interface TestServer extends RunningServer {
  admin(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }>;
  registerKkm(opts?: { bin?: string; orgId?: number }): Promise<RegisteredKkm>;
  tcpDevice(kkm: RegisteredKkm): KkmDevice;
  stop(): Promise<void>;
}

export interface RegisteredKkm {
  kkmId: number;
  token: number;
  orgId: number;
  pointId: number;
  bin: string;
}

export { uniqueBin };

export async function startTestServer(
  env: Record<string, string> = {},
  opts: { log?: Logger } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ofd-test-'));
  const prefix = `ofdtest:${randomBytes(4).toString('hex')}:`;
  const config: Config = loadConfig(
    {
      DATA_DIR: dataDir,
      OFD_TCP_PORT: '0',
      OFD_HTTP_PORT: '0',
      OFD_HOST: '127.0.0.1',
      OFD_REDIS_PREFIX: prefix,
      OFD_ADMIN_TOKEN: 'test-admin-token-0123456789',
      OFD_DEVICE_LEASE_MS: '300',
      // Tests drive devices far faster than a register would; the rate limits are off unless a
      // test sets them (test/security/abuse.test.ts).
      OFD_DEVICE_RATE: '0',
      OFD_ADDRESS_RATE: '0',
      OFD_WRONG_TOKEN_RATE: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...spoolEnv(),
      ...env,
    },
    [],
  );
  let server: RunningServer;
  try {
    server = await startServer(config, opts.log ?? pino({ level: config.logLevel }));
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true }); // a failed start leaves no temp dir
    throw error;
  }
  const links: TcpLink[] = [];

  const adminClient = new AdminClient({
    httpPort: server.httpPort,
    adminToken: config.adminToken!,
  });
  const admin: TestServer['admin'] = (method, url, body) => adminClient.request(method, url, body);

  const registerKkm: TestServer['registerKkm'] = async (opts = {}) => {
    let orgId = opts.orgId;
    const bin = opts.bin ?? uniqueBin();
    if (!orgId) {
      const org = await admin('POST', '/api/v1/admin/orgs', {
        bin,
        title: 'ТОО Test',
        address: 'Almaty',
        okved: '47111',
        password: 'Secret-pass1!',
      });
      if (org.status !== 201) throw new Error(`org: ${JSON.stringify(org.json)}`);
      orgId = org.json.id as number;
    }
    const point = await admin('POST', `/api/v1/admin/orgs/${orgId}/points`, {
      title: 'Shop 1',
      address: 'Abay 1',
    });
    const kkm = await admin('POST', `/api/v1/admin/points/${point.json.id}/kkms`, {
      serialNumber: `SN${Date.now()}`,
      model: 'Test KKM',
      fnsKkmId: `FNS${Date.now()}`,
    });
    if (kkm.status !== 201) throw new Error(`kkm: ${JSON.stringify(kkm.json)}`);
    const token = await admin('POST', `/api/v1/admin/kkms/${kkm.json.id}/token`);
    return { kkmId: kkm.json.id, token: token.json.token, orgId, pointId: point.json.id, bin };
  };

  const tcpDevice = (kkm: RegisteredKkm) => {
    const link = new TcpLink(server.tcp!.port);
    links.push(link);
    return new KkmDevice(kkm.kkmId, kkm.token, link.send);
  };

  return Object.assign(server, {
    admin,
    registerKkm,
    tcpDevice,
    async stop() {
      links.forEach((l) => l.close());
      // Workers first: their schedulers would write keys again after the clean-up below.
      await server.workers?.close();
      await deleteKeys(server.redis, prefix);
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export type { Transport };
