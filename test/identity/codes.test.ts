// One-time codes and EDS challenges in Redis: a code expires, allows a few wrong attempts and
// then is gone, is used up by its right use; sending is limited per recipient and per address;
// a challenge is used once.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { IdentityCodes } from '../../src/storage/identity-codes.js';
import { deleteKeys } from '../harness/redis-keys.js';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
const prefix = `ofdtest:codes:${randomBytes(4).toString('hex')}:`;
t.teardown(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});
const settings = {
  ttlSeconds: 1,
  maxAttempts: 3,
  perRecipient: 2,
  perAddress: 3,
  windowSeconds: 60,
};
const codes = new IdentityCodes(redis, prefix, settings);

const issue = async (subject: string, to: string, from = '10.0.0.1') => {
  const r = await codes.issue(subject, to, from);
  if (!('code' in r)) throw new Error('refused');
  return r.code;
};

t.test('a code works once', async (t) => {
  const code = await issue('otp:a', '+77010000001');
  t.match(code, /^\d{6}$/);
  t.equal(await codes.check('otp:a', code), 'ok');
  t.equal(await codes.check('otp:a', code), 'expired', 'used up');
});

t.test('a code expires', async (t) => {
  const code = await issue('otp:b', '+77010000002');
  await sleep(1300);
  t.equal(await codes.check('otp:b', code), 'expired');
});

t.test('wrong attempts are limited', async (t) => {
  const code = await issue('otp:c', '+77010000003', '10.0.0.2');
  const wrong = code === '000000' ? '111111' : '000000';
  t.equal(await codes.check('otp:c', wrong), 'wrong');
  t.equal(await codes.check('otp:c', wrong), 'wrong');
  t.equal(await codes.check('otp:c', wrong), 'exhausted', 'the third wrong code ends it');
  t.equal(await codes.check('otp:c', code), 'expired', 'the right code is gone too');
});

t.test('sending is limited per recipient and per address', async (t) => {
  await issue('otp:d1', '+77010000004', '10.0.0.3');
  await issue('otp:d2', '+77010000004', '10.0.0.3');
  const third = await codes.issue('otp:d3', '+77010000004', '10.0.0.3');
  t.ok('retryAfterSeconds' in third && third.retryAfterSeconds > 0, 'the phone had its two');
  await issue('otp:e1', '+77010000005', '10.0.0.4');
  await issue('otp:e2', '+77010000006', '10.0.0.4');
  await issue('otp:e3', '+77010000007', '10.0.0.4');
  const fourth = await codes.issue('otp:e4', '+77010000008', '10.0.0.4');
  t.ok('retryAfterSeconds' in fourth, 'the address had its three');
});

t.test('a challenge is used once', async (t) => {
  const { challenge } = await codes.challenge();
  t.equal(await codes.takeChallenge(challenge), true);
  t.equal(await codes.takeChallenge(challenge), false);
  t.equal(await codes.takeChallenge('never-issued'), false);
});

t.test('racing wrong codes cannot try more than the attempts allowed', async (t) => {
  const code = await issue('otp:race', '+77010000009', '10.0.0.5');
  const wrong = code === '000000' ? '111111' : '000000';
  const results = await Promise.all(
    Array.from({ length: 20 }, () => codes.check('otp:race', wrong)),
  );
  const tried = results.filter((r) => r === 'wrong' || r === 'exhausted');
  t.equal(tried.length, settings.maxAttempts, `${tried.length} of 20 racing codes were tried`);
  t.equal(results.filter((r) => r === 'exhausted').length, 1, 'one of them ends the code');
  t.equal(await codes.check('otp:race', code), 'expired', 'the right code is gone afterwards');
});

t.test('a sending window starts with its first code and expires', async (t) => {
  await issue('otp:w', '+77010000010', '10.0.0.6');
  const ttl = await redis.ttl(`${prefix}identity:sent:+77010000010`);
  t.ok(ttl > 0 && ttl <= settings.windowSeconds, `the counter expires (ttl ${ttl} s)`);
  await issue('otp:w2', '+77010000010', '10.0.0.6');
  const again = await redis.ttl(`${prefix}identity:sent:+77010000010`);
  t.ok(again <= ttl, 'a second code does not extend the window');
});
