// Money on the wire is {bills, coins}: whole tenge (uint64) and tiyn (1/100). Inside the server
// money is an integer count of tiyn held in a JS number, which is exact up to 2^53 - 1 tiyn
// (about 90 trillion tenge); larger amounts are refused, never rounded.
import type { IMoney } from '../protocol/schema.js';

export const MAX_TIYN = Number.MAX_SAFE_INTEGER;
const MAX_BILLS = Math.floor(MAX_TIYN / 100);

/** Tiyn of a wire Money, or null when it is not a valid amount (coins ≥ 100, too large). */
export function toTiyn(m: IMoney | null | undefined): number | null {
  if (!m) return null;
  const bills = Number(m.bills ?? 0);
  const coins = Number(m.coins ?? 0);
  if (!Number.isSafeInteger(bills) || bills < 0 || bills > MAX_BILLS) return null;
  if (!Number.isInteger(coins) || coins < 0 || coins > 99) return null;
  const tiyn = bills * 100 + coins;
  return tiyn <= MAX_TIYN ? tiyn : null;
}

/** Wire Money for a non-negative tiyn count. */
export function fromTiyn(tiyn: number): { bills: number; coins: number } {
  if (!Number.isSafeInteger(tiyn) || tiyn < 0) throw new RangeError(`invalid tiyn amount ${tiyn}`);
  return { bills: Math.floor(tiyn / 100), coins: tiyn % 100 };
}

/** Quantities are thousandths (1000 = 1.0) and tax percents thousandths of a percent. */
export function isValidThousandths(n: number | null | undefined): boolean {
  return n !== null && n !== undefined && Number.isInteger(n) && n >= 0 && n <= 0x7fffffff;
}

/** Tiyn as tenge text, exact: -1234 → "-12.34". */
export function tenge(tiyn: number | bigint): string {
  const v = BigInt(tiyn);
  const neg = v < 0n;
  const a = neg ? -v : v;
  return `${neg ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

// Text for people (the receipt page, the web cabinet): exact, from the integers.
const NBSP = '\u00a0';

/** 1440100 → "14 401,00" (thousands grouped, decimal comma, as a receipt prints it). */
export function moneyText(tiyn: number): string {
  const sign = tiyn < 0 ? '−' : '';
  const abs = Math.abs(tiyn);
  const digits = String(Math.floor(abs / 100));
  let whole = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = whole.length; i < digits.length; i += 3) whole += NBSP + digits.slice(i, i + 3);
  return `${sign}${whole},${String(abs % 100).padStart(2, '0')}`;
}

/** Thousandths as a decimal: 1500 → "1,5", 12000 → "12". */
export function thousandthsText(n: number): string {
  const frac = String(n % 1000)
    .padStart(3, '0')
    .replace(/0+$/, '');
  return `${Math.floor(n / 1000)}${frac ? `,${frac}` : ''}`;
}
