// The http transport on its own: retries with back-off until the receiver takes the batch, a
// batch that is never taken fails after its attempts, acknowledgements are read from the answer,
// and over HTTPS the client certificate (mTLS) is presented to a receiver that requires one (a
// CA, server and client certificates made here with openssl).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpTransport, ReceiverRefused } from '../../src/forwarding/http-transport.js';
import { eventKey, type ForwardedDocument } from '../../src/forwarding/envelope.js';
import { ReferenceReceiver } from '../../src/forwarding/receiver.js';

const doc = (key: string, kind: ForwardedDocument['kind'] = 'ticket'): ForwardedDocument => ({
  key,
  kind,
  kgdNumber: 'FNS1',
  bin: '123456789012',
  fiscalNumber: '10000000001',
  documentTime: '2026-12-02T10:00:00',
  receivedAt: new Date().toISOString(),
  raw: Buffer.from('frame').toString('base64'),
});
const settings = { timeoutMs: 2000, retryBaseMs: 20, retryMaxMs: 200 };

t.test('retries with back-off until the receiver takes the batch', async (t) => {
  const receiver = new ReferenceReceiver();
  await receiver.start();
  t.teardown(() => receiver.stop());
  const attempts: number[] = [];
  const transport = new HttpTransport({
    url: receiver.url,
    retries: 10,
    ...settings,
    onRetry: (_err, attempt) => attempts.push(attempt),
  });
  t.teardown(() => transport.close());
  receiver.control({ mode: 'fail', forMs: 300 });
  const acks = await transport.send(
    [doc('kkm:1:doc:1'), doc(eventKey(1, 1), 'kkm_event')],
    new AbortController().signal,
  );
  t.ok(attempts.length >= 1, `retried ${attempts.length} times`);
  t.ok(receiver.stats().refused >= 1, 'the refused attempts reached the receiver');
  t.equal(receiver.stats().unique, 2, 'then the batch was taken');
  t.same(acks, [{ key: 'kkm:1:event:1', status: 'confirmed', reference: 'KGD-kkm:1:event:1' }]);
});

t.test('a batch never taken fails after its attempts', async (t) => {
  const receiver = new ReferenceReceiver();
  await receiver.start();
  t.teardown(() => receiver.stop());
  const transport = new HttpTransport({ url: receiver.url, retries: 2, ...settings });
  t.teardown(() => transport.close());
  receiver.control({ mode: 'fail' });
  await t.rejects(transport.send([doc('kkm:1:doc:1')], new AbortController().signal), {
    name: 'ReceiverRefused',
    statusCode: 503,
  });
  t.equal(receiver.stats().refused, 3, 'the first attempt and two retries');
  t.equal(receiver.stats().unique, 0);
  t.ok(new ReceiverRefused(503, '') instanceof Error);
});

t.test('mTLS: the client certificate is presented; without it the receiver refuses', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofd-mtls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=Test CA',
  );
  const issue = (name: string, ext: string) => {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name === 'server' ? '127.0.0.1' : 'ofd-client'}`,
    );
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    );
  };
  issue('server', 'subjectAltName=IP:127.0.0.1');
  issue('client', 'extendedKeyUsage=clientAuth');
  const file = (name: string) => readFileSync(join(dir, name));
  let presented = '';
  const server = https.createServer(
    {
      key: file('server.key'),
      cert: file('server.pem'),
      ca: file('ca.pem'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      presented = (req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject
        .CN as string;
      req.resume();
      req.on('end', () => res.writeHead(200).end('{}'));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/documents`;
  const withCert = new HttpTransport({
    url,
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    caFile: join(dir, 'ca.pem'),
    retries: 0,
    ...settings,
  });
  t.teardown(() => withCert.close());
  t.same(await withCert.send([doc('kkm:1:doc:1')], new AbortController().signal), []);
  t.equal(presented, 'ofd-client', 'the receiver saw our client certificate');
  const withoutCert = new HttpTransport({
    url,
    caFile: join(dir, 'ca.pem'),
    retries: 0,
    ...settings,
  });
  t.teardown(() => withoutCert.close());
  await t.rejects(withoutCert.send([doc('kkm:1:doc:1')], new AbortController().signal));
});
