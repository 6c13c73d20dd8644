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

/** Two digits: 5 → "05". */
const twoDigits = (n: number) => (n < 10 ? `0${n}` : String(n));

/** Tiyn as tenge text, exact: -1234 → "-12.34". */
export function tenge(tiyn: number | bigint): string {
  if (typeof tiyn === 'number' && Number.isSafeInteger(tiyn)) {
    const abs = tiyn < 0 ? -tiyn : tiyn;
    return `${tiyn < 0 ? '-' : ''}${Math.floor(abs / 100)}.${twoDigits(abs % 100)}`;
  }
  const v = BigInt(tiyn);
  const neg = v < 0n;
  const a = neg ? -v : v;
  return `${neg ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

// Text for people (the receipt page, the web cabinet): exact, from the integers.
const NBSP = '\u00a0';

/**
 * 1440100 → "14 401,00" (thousands grouped, decimal comma, as a receipt prints it). Integer
 * arithmetic only: every receipt page formats a few dozen amounts.
 */
export function moneyText(tiyn: number): string {
  const abs = tiyn < 0 ? -tiyn : tiyn;
  let whole = Math.floor(abs / 100);
  let text = '';
  while (whole >= 1000) {
    const group = whole % 1000;
    text = `${NBSP}${group < 10 ? '00' : group < 100 ? '0' : ''}${group}${text}`;
    whole = Math.floor(whole / 1000);
  }
  return `${tiyn < 0 ? '−' : ''}${whole}${text},${twoDigits(abs % 100)}`;
}

/** Thousandths as a decimal: 1500 → "1,5", 12000 → "12", 1005 → "1,005". */
export function thousandthsText(n: number): string {
  const abs = n < 0 ? -n : n;
  const whole = `${n < 0 ? '-' : ''}${Math.floor(abs / 1000)}`;
  const frac = abs % 1000;
  if (frac === 0) return whole;
  if (frac % 100 === 0) return `${whole},${frac / 100}`;
  if (frac % 10 === 0) return `${whole},${twoDigits(frac / 10)}`;
  return `${whole},${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}
