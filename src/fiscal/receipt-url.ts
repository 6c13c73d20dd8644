// The receipt-check URL printed as the QR code, in the form the country's check services read:
// `?i=<fiscal number>&f=<KGD registration number of the KKM>&s=<total in tenge, two decimals>
// &t=<device time YYYYMMDDTHHMMSS>`. Built by the ticket command, parsed by the public check.
// Money stays integer tiyn: `s` is written and read with integer arithmetic only.
import { MAX_TIYN, tenge } from './money.js';
import { wallClock } from '../protocol/datetime.js';

/** What a QR code names: the four facts a buyer's check must match. */
export interface ReceiptKey {
  /** The fiscal ticket number (or the offline number the KKM printed). */
  number: string;
  /** The KKM's KGD registration number (fns_kkm_id). */
  kgdNumber: string;
  /** Total in tiyn. */
  total: number;
  /** Device wall clock, 'YYYY-MM-DD hh:mm:ss'. */
  deviceTime: string;
}

export function receiptUrl(base: string, key: ReceiptKey): string {
  const t = key.deviceTime.replace(/[-:]/g, '').replace(' ', 'T');
  const f = encodeURIComponent(key.kgdNumber);
  return `${base}?i=${key.number}&f=${f}&s=${tenge(key.total)}&t=${t}`;
}

const NUMBER_RE = /^[0-9]{1,32}$/;
// A KGD number as the admin API takes it: up to 64 printable characters.
const KGD_RE = /^[^\p{Cc}]{1,64}$/u;
const TOTAL_RE = /^(0|[1-9][0-9]{0,15})\.([0-9]{2})$/;
const TIME_RE = /^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})$/;

export type ParsedReceiptQuery = { key: ReceiptKey } | { problem: string };

/** The four QR parameters checked and typed, or which one is missing or malformed. */
export function parseReceiptQuery(q: Record<string, unknown>): ParsedReceiptQuery {
  const text = (name: string) => (typeof q[name] === 'string' ? (q[name] as string) : undefined);
  const [i, f, s, t] = [text('i'), text('f'), text('s'), text('t')];
  if (i === undefined || !NUMBER_RE.test(i)) return { problem: 'i: expected the fiscal number' };
  if (f === undefined || !KGD_RE.test(f)) return { problem: 'f: expected the KGD number' };
  const money = s === undefined ? null : TOTAL_RE.exec(s);
  const total = money ? Number(money[1]) * 100 + Number(money[2]) : NaN;
  if (!money || !Number.isSafeInteger(total) || total > MAX_TIYN) {
    return { problem: 's: expected the total in tenge with two decimals' };
  }
  const time = t === undefined ? null : TIME_RE.exec(t);
  const deviceTime =
    time &&
    wallClock({
      date: { year: Number(time[1]), month: Number(time[2]), day: Number(time[3]) },
      time: { hour: Number(time[4]), minute: Number(time[5]), second: Number(time[6]) },
    });
  if (!deviceTime) return { problem: 't: expected the device time as YYYYMMDDTHHMMSS' };
  return { key: { number: i, kgdNumber: f, total, deviceTime } };
}
