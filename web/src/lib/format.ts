// Money, quantities and dates as people read them, from the API's integers and texts. Money is
// the fiscal model's own formatter (src/fiscal/money.ts): integer tiyn, never a float.
import { moneyText, thousandthsText } from '../../../src/fiscal/money.js';
import { dateTimeText, wallClockAt } from '../../../src/protocol/datetime.js';

export { thousandthsText };

/** 1440100 → "14 401,00 ₸". */
export const money = (tiyn: number) => `${moneyText(tiyn)} ₸`;

/** A register's wall-clock text (no time zone) as it is: '2026-03-10T09:00:00' → '10.03.2026 09:00:00'. */
export const wall = (iso: string | null | undefined) => (iso ? dateTimeText(iso) : '—');

// Registers in Kazakhstan keep one time zone, UTC+5, since 1 March 2024: instants the server
// stamps in UTC (last contact, arrival, notifications) are shown on that wall clock too.
const KZ_OFFSET_MS = 5 * 3_600_000;

/** A UTC instant on the registers' wall clock. */
export const instant = (utc: string | null | undefined) =>
  utc ? dateTimeText(wallClockAt(Date.parse(utc) + KZ_OFFSET_MS).replace(' ', 'T')) : '—';

/** Today on the registers' wall clock, 'YYYY-MM-DD'. */
export const today = () => wallClockAt(Date.now() + KZ_OFFSET_MS).slice(0, 10);

/** 'YYYY-MM-DD' plus `days`. */
export const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
