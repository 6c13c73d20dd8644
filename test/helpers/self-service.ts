// What the self-service tests share: a server that trusts a CA made in the test and sends its
// one-time codes to a gateway the test runs (so the codes can be read back), and the steps of
// registering an organization by EDS or OTP.
import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, makeSigner, signCms, type Signer, type TestCa } from './eds-ca.js';
import { startTestServer, type TestServer } from './server.js';
import { cabinetClient } from './cabinet.js';

export const OWNER_PASSWORD = 'Owner-pass1!';

export const address = (street = 'Абая') => ({
  region: 'г. Алматы',
  locality: 'Алматы',
  street,
  house: '10',
  flat: '5',
});

/** An HTTP gateway that keeps every message it is sent. */
async function messageGateway(): Promise<{
  url: string;
  sent: { to: string; text: string }[];
  server: Server;
}> {
  const sent: { to: string; text: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      sent.push(JSON.parse(body) as { to: string; text: string });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/send`, sent, server };
}

export interface SelfServiceServer {
  server: TestServer;
  ca: TestCa;
  client: ReturnType<typeof cabinetClient>;
  /** The last code sent to `to` (phone or e-mail). */
  codeFor(to: string): string;
  challenge(): Promise<string>;
  edsProof(signer: Signer, challenge?: string): Promise<Record<string, string>>;
  otpProof(iin: string, phone: string): Promise<Record<string, string>>;
  emailCode(email: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startSelfServiceServer(env: Record<string, string> = {}) {
  const ca = await makeCa();
  const dir = mkdtempSync(join(tmpdir(), 'ofd-eds-'));
  writeFileSync(join(dir, 'ca.pem'), ca.pem);
  const gateway = await messageGateway();
  const server = await startTestServer({
    OFD_EDS_CA_FILE: join(dir, 'ca.pem'),
    OFD_SMS_GATEWAY_URL: gateway.url,
    OFD_EMAIL_GATEWAY_URL: gateway.url,
    ...env,
  });
  const client = cabinetClient(server);
  const codeFor = (to: string) => {
    const m = [...gateway.sent].reverse().find((s) => s.to === to);
    const code = m && /(\d{6})/.exec(m.text)?.[1];
    if (!code) throw new Error(`no code sent to ${to}`);
    return code;
  };
  const challenge = async () =>
    (await client.call('POST', '/api/v1/auth/challenge')).json.challenge as string;
  const s: SelfServiceServer = {
    server,
    ca,
    client,
    codeFor,
    challenge,
    async edsProof(signer, given) {
      const c = given ?? (await challenge());
      return { method: 'eds', challenge: c, signature: await signCms(signer, c) };
    },
    async otpProof(iin, phone) {
      const res = await client.call('POST', '/api/v1/auth/otp', { body: { iin, phone } });
      if (res.status !== 202) throw new Error(`otp: ${JSON.stringify(res.json)}`);
      return { method: 'otp', iin, phone, code: codeFor(phone) };
    },
    async emailCode(email) {
      const res = await client.call('POST', '/api/v1/registration/email-code', { body: { email } });
      if (res.status !== 202) throw new Error(`email code: ${JSON.stringify(res.json)}`);
      return codeFor(email);
    },
    async stop() {
      gateway.server.close();
      await server.stop();
    },
  };
  return s;
}

let iinCounter = 0;
/** A 12-digit IIN/BIN unique to this run. */
export const uniqueId = () =>
  `${String(Date.now() % 1e7).padStart(7, '0')}${String(process.pid % 100).padStart(2, '0')}${String(++iinCounter % 1000).padStart(3, '0')}`;

/** Registers a legal entity with its EDS key; returns the BIN, the signer and the owner's token. */
export async function registerLegalEntity(s: SelfServiceServer) {
  const bin = uniqueId();
  const signer = await makeSigner(s.ca, { iin: uniqueId(), bin });
  const email = `owner${bin}@example.kz`;
  const res = await s.client.call('POST', '/api/v1/registration', {
    body: {
      proof: await s.edsProof(signer),
      password: OWNER_PASSWORD,
      legalForm: 'legal_entity',
      name: `ТОО Самообслуживание ${bin}`,
      head: { position: 'Директор', name: 'Тестов Т.' },
      bank: { bik: 'HSBKKZKX', iik: 'KZ123456789012345678' },
      legalAddress: address(),
      actualSameAsLegal: true,
      email,
      emailCode: await s.emailCode(email),
      phone: '+77010000001',
      agreementAccepted: true,
    },
  });
  if (res.status !== 201) throw new Error(`registration: ${JSON.stringify(res.json)}`);
  const token = await s.client.login(bin, OWNER_PASSWORD);
  return { bin, orgId: res.json.id as number, signer, token, email };
}
