// Password hashing for cabinet users and KKM cashiers: scrypt with a random salt, stored as
// `scrypt$N$r$p$salt$hash` (salt and hash base64url) so the cost can be raised later without
// invalidating stored hashes. Plain passwords are never logged or kept.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Refuse stored parameters beyond these: a tampered row must not make verification a DoS. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

function derive(plain: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  const maxmem = 128 * (opts.N ?? N) * (opts.r ?? R) * (opts.p ?? P) + 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(plain.normalize('NFC'), salt, keyLen, { ...opts, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(plain: string): Promise<string> {
  if (typeof plain !== 'string' || plain.length === 0) throw new TypeError('empty password');
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(plain, salt, KEY_BYTES, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `plain` matches `stored`; false for a wrong password or a malformed stored hash. */
export async function verifyPassword(plain: string, stored: string): Promise<boolean> {
  if (typeof plain !== 'string' || typeof stored !== 'string') return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const okInt = (x: number, max: number) => Number.isInteger(x) && x >= 1 && x <= max;
  if (!okInt(n, MAX_N) || (n & (n - 1)) !== 0 || n < 2 || !okInt(r, MAX_R) || !okInt(p, MAX_P)) {
    return false;
  }
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || expected.length < 16 || expected.length > 64) return false;
  const actual = await derive(plain, salt, expected.length, { N: n, r, p });
  return timingSafeEqual(actual, expected);
}
