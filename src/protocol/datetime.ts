// Protocol dates and times are the device's local wall clock without a time zone (section 4.1).
// We keep them as received, as 'YYYY-MM-DD hh:mm:ss' text, and refuse impossible ones.
import type { IDateTime } from './schema.js';

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** 'YYYY-MM-DD hh:mm:ss', or null for an impossible date or time (31 February, hour 24…). */
export function wallClock(dt: IDateTime | null | undefined): string | null {
  const d = dt?.date;
  const t = dt?.time;
  if (!d || !t) return null;
  const year = d.year ?? 0;
  const month = d.month ?? 0;
  const day = d.day ?? 0;
  const hour = t.hour ?? 0;
  const minute = t.minute ?? 0;
  const second = t.second ?? 0;
  if (year < 2000 || year > 2999 || month < 1 || month > 12) return null;
  if (day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return `${year}-${pad2(month)}-${pad2(day)} ${pad2(hour)}:${pad2(minute)}:${pad2(second)}`;
}

/** The wire DateTime for a 'YYYY-MM-DD hh:mm:ss' wall-clock text. */
export function fromWallClock(text: string): IDateTime {
  const [date = '', time = ''] = text.split(' ');
  const [year, month, day] = date.split('-').map(Number);
  const [hour, minute, second] = time.split(':').map(Number);
  return {
    date: { year: year ?? 0, month: month ?? 0, day: day ?? 0 },
    time: { hour: hour ?? 0, minute: minute ?? 0, second: second ?? 0 },
  };
}

/** The wall-clock text of an instant in UTC (for times the server supplies itself). */
export function wallClockAt(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** A wall-clock ISO text as people read it: '2026-03-10T09:00:00' → '10.03.2026 09:00:00'. */
export const dateTimeText = (iso: string) =>
  `${iso.slice(8, 10)}.${iso.slice(5, 7)}.${iso.slice(0, 4)} ${iso.slice(11, 19)}`;
