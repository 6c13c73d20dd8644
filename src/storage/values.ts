// Values as the store writes and checks them.
import { MAX_UINT32 } from '../protocol/numbers.js';

/** DateTime64(3) text in UTC, as ClickHouse parses it in every format and engine. */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** A registry id: an integer from 1 to 2^32-1. */
export function isId(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 1 && (x as number) <= MAX_UINT32;
}
