// A worked example against a running server: registers an organization, a point of sale and a
// KKM through the admin API, takes its token, then sends INFO, a TICKET and CLOSE_SHIFT over
// TCP and prints what came back.
//
//   OFD_ADMIN_TOKEN=… npm run example      (OFD_HTTP_PORT, OFD_TCP_PORT as the server's)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KkmDevice, TcpLink } from './kkm-client.js';
import { emptyReport, requests, seededRandom, ticket } from './documents.js';
import { toTiyn } from '../fiscal/money.js';

const http = `http://127.0.0.1:${process.env.OFD_HTTP_PORT ?? 8080}`;
const tcpPort = Number(process.env.OFD_TCP_PORT ?? 7777);
const adminToken =
  process.env.OFD_ADMIN_TOKEN ??
  readFileSync(join(process.env.DATA_DIR ?? './data', 'admin-token'), 'utf8').trim();

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(http + path, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  console.log(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  if (!res.ok) process.exit(1);
  return json;
}

const bin = String(Date.now()).slice(-12).padStart(12, '0');
const org = await admin('POST', '/api/v1/admin/orgs', {
  bin,
  title: 'ТОО Example',
  address: 'Almaty, Abay 1',
  okved: '47111',
  password: 'Example-pass1!',
});
const point = await admin('POST', `/api/v1/admin/orgs/${org.id}/points`, {
  title: 'Shop 1',
  address: 'Almaty, Abay 1',
});
const kkm = await admin('POST', `/api/v1/admin/points/${point.id}/kkms`, {
  serialNumber: `SN-${bin}`,
  model: 'Example KKM',
  fnsKkmId: `FNS-${bin}`,
});
const { token } = (await admin('POST', `/api/v1/admin/kkms/${kkm.id}/token`)) as { token: number };

const link = new TcpLink(tcpPort);
const device = new KkmDevice(kkm.id as number, token, link.send);
const show = (what: string, a: Awaited<ReturnType<KkmDevice['send']>>) =>
  console.log(
    `${what}: result ${a.response.result.result_code}, token ${a.header.token}, reqnum ${a.header.reqNum}`,
  );

const info = await device.send(requests.info());
show('INFO', info);
console.log(
  `  report ${info.response.report?.report} shift ${info.response.report?.zx_report?.shift_number}`,
);

const receipt = ticket(seededRandom(1), { items: 3 });
const sold = await device.send(requests.ticket(receipt));
show('TICKET', sold);
console.log(`  ticket number ${sold.response.ticket?.ticket_number}`);
console.log(`  QR ${Buffer.from(sold.response.ticket?.qr_code ?? []).toString()}`);

const again = await device.resend();
console.log(`TICKET resent unchanged: identical answer = ${again.bytes.equals(sold.bytes)}`);

const z = emptyReport(1, new Date());
const closed = await device.send(requests.closeShift(z, new Date()));
show('CLOSE_SHIFT', closed);
const server = closed.response.report?.zx_report;
console.log(
  `  server Z: shift ${server?.shift_number}, sales ${server?.ticket_operations?.[2]?.tickets_count} for ${toTiyn(server?.ticket_operations?.[2]?.tickets_sum)} tiyn, cash ${toTiyn(server?.cash_sum)} tiyn`,
);
link.close();
