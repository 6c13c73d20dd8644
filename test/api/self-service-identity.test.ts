// The identity proofs over HTTP against a real server: EDS login with a CA made here refused
// for an expired certificate, another CA's, a key not for signing and a tampered challenge
// (each with its reason, and the challenge used up by the failed try); one-time codes limited
// per phone and per address (429 with Retry-After), expired codes refused; registration checks
// its password and e-mail code without using up the proof.
import 'reflect-metadata';
import t from 'tap';
import { KeyUsageFlags } from '@peculiar/x509';
import { makeCa, makeSigner, signCms } from '../helpers/eds-ca.js';
import {
  OWNER_PASSWORD,
  address,
  registerLegalEntity,
  startSelfServiceServer,
  uniqueId,
} from '../helpers/self-service.js';

const s = await startSelfServiceServer({
  // Each test sends from addresses of its own (X-Forwarded-For from the loopback proxy).
  OFD_TRUST_PROXY: '127.0.0.1',
  OFD_OTP_PER_PHONE: '2',
  OFD_OTP_PER_ADDRESS: '3',
});
t.teardown(() => s.stop());
const base = `http://127.0.0.1:${s.server.httpPort}`;
let addressCounter = 0;
/** A fresh client address. */
const newAddress = () => `203.0.113.${++addressCounter}`;

async function post(path: string, body: unknown, from: string) {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any, headers: res.headers };
}

t.test('EDS login: each refusal over HTTP, with its reason', async (t) => {
  const org = await registerLegalEntity(s);
  const from = newAddress();
  const login = (proof: object) => post('/api/v1/auth/login', proof, from);
  t.equal((await login(await s.edsProof(org.signer))).status, 200, 'the valid key logs in');

  const stranger = await makeCa('CN=Not the configured CA');
  const signers = {
    expired: await makeSigner(s.ca, { iin: uniqueId(), bin: org.bin, expired: true }),
    untrusted: await makeSigner(stranger, { iin: uniqueId(), bin: org.bin }),
    key_usage: await makeSigner(s.ca, {
      iin: uniqueId(),
      bin: org.bin,
      usage: KeyUsageFlags.keyEncipherment,
    }),
  };
  for (const [reason, signer] of Object.entries(signers)) {
    const res = await login(await s.edsProof(signer));
    t.equal(res.status, 401, `${reason}: 401`);
    t.match(res.json.message, new RegExp(`EDS refused \\(${reason}\\)`), `${reason}: named`);
  }

  const challenge = await s.challenge();
  const tampered = await login({
    method: 'eds',
    challenge,
    signature: await signCms(org.signer, `${challenge}x`),
  });
  t.equal(tampered.status, 401, 'a signature of another text than the challenge');
  t.match(tampered.json.message, /challenge_mismatch/);
  const detached = await login({
    method: 'eds',
    challenge: await s.challenge(),
    signature: await signCms(org.signer, 'something else', true),
  });
  t.equal(detached.status, 401, 'a detached signature of another text');
  t.match(detached.json.message, /bad_signature/);
  const retry = await login(await s.edsProof(org.signer, challenge));
  t.equal(retry.status, 401, 'the failed try used its challenge up: a right signature is late');
  t.match(retry.json.message, /unknown, used or expired/);
  const garbage = await login({ method: 'eds', challenge: await s.challenge(), signature: 'AAAA' });
  t.equal(garbage.status, 401, 'not a CMS structure');
  t.match(garbage.json.message, /malformed/);
});

t.test('one-time codes: sending limited per phone and per address', async (t) => {
  const iin = uniqueId();
  const phone = `+7705${iin.slice(-7)}`;
  const a = newAddress();
  const otp = (to: string, from: string) => post('/api/v1/auth/otp', { iin, phone: to }, from);
  t.same([(await otp(phone, a)).status, (await otp(phone, a)).status], [202, 202]);
  const third = await otp(phone, a);
  t.equal(third.status, 429, 'the phone had its two codes this hour');
  t.ok(Number(third.headers.get('retry-after')) > 0, 'with Retry-After');
  t.match(third.json.message, /too many codes sent/);
  t.equal((await otp(phone, newAddress())).status, 429, 'from another address as well');

  const c = newAddress();
  const phones = [1, 2, 3, 4].map((i) => `+7706${iin.slice(-6)}${i}`);
  const statuses = [];
  for (const p of phones) statuses.push((await otp(p, c)).status);
  t.same(statuses, [202, 202, 202, 429], 'the address had its three codes, to any phones');
  t.equal((await otp(phones[3]!, newAddress())).status, 202, 'that phone, from elsewhere');
});

t.test('one-time codes: an expired code is refused', async (t) => {
  const iin = uniqueId();
  const phone = `+7707${iin.slice(-7)}`;
  t.equal((await post('/api/v1/auth/otp', { iin, phone }, newAddress())).status, 202);
  const code = s.codeFor(phone);
  // Its lifetime runs out (OFD_OTP_TTL_S is 30 s at the least; Redis ends it here).
  const key = `${s.server.config.redisPrefix}identity:code:otp:${iin}:${phone}`;
  t.equal(await s.server.redis.pexpire(key, 1), 1, 'the code is stored under its subject');
  await new Promise((resolve) => setTimeout(resolve, 20));
  const res = await post('/api/v1/auth/login', { method: 'otp', iin, phone, code }, newAddress());
  t.equal(res.status, 401);
  t.match(res.json.message, /expired or was never sent/);
});

t.test('registration: password policy and e-mail code checked, the proof kept', async (t) => {
  const iin = uniqueId();
  const phone = `+7708${iin.slice(-7)}`;
  const email = `ie${iin}@example.kz`;
  const from = newAddress();
  t.equal((await post('/api/v1/auth/otp', { iin, phone }, from)).status, 202);
  const proof = { method: 'otp', iin, phone, code: s.codeFor(phone) };
  t.equal((await post('/api/v1/registration/email-code', { email }, from)).status, 202);
  const emailCode = s.codeFor(email);
  const body = (over: object) => ({
    proof,
    password: OWNER_PASSWORD,
    legalForm: 'individual_entrepreneur',
    name: `ИП ${iin}`,
    legalAddress: address(),
    actualSameAsLegal: true,
    email,
    emailCode,
    phone,
    agreementAccepted: true,
    ...over,
  });
  const weak = await post('/api/v1/registration', body({ password: 'short' }), from);
  t.equal(weak.status, 400, 'a password outside the policy');
  t.match(weak.json.message, /password/);
  const noAgreement = await post('/api/v1/registration', body({ agreementAccepted: false }), from);
  t.equal(noAgreement.status, 400, 'the agreement not accepted');
  const wrongEmail = await post(
    '/api/v1/registration',
    body({ emailCode: emailCode === '000000' ? '111111' : '000000' }),
    from,
  );
  t.equal(wrongEmail.status, 401, 'a wrong e-mail code');
  // The OTP proof was used by that try; the next one needs a fresh code.
  t.equal((await post('/api/v1/auth/otp', { iin, phone }, newAddress())).status, 202);
  const fresh = { ...proof, code: s.codeFor(phone) };
  const ok = await post('/api/v1/registration', body({ proof: fresh }), from);
  t.equal(ok.status, 201, `registered: ${JSON.stringify(ok.json)}`);
  t.equal(ok.json.bin, iin);
  const login = await post('/api/v1/auth/login', { login: iin, password: OWNER_PASSWORD }, from);
  t.equal(login.status, 200, 'the owner logs in with its IIN and password');
});
