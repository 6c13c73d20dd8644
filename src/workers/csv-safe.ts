// CSV the server writes is opened in spreadsheets, where a cell beginning with = + - @, a tab
// or a carriage return is read as a formula (CSV injection). As OWASP recommends, such text gets
// a leading apostrophe and is quoted; numbers (negative amounts included) stay numbers.
import { stringify } from 'csv-stringify/sync';

const FORMULA_START = /^[=+\-@\t\r]/;

/** A text cell as a spreadsheet will show it, never as a formula. */
export function neutraliseCell(value: string): string | { value: string; quote: true } {
  return FORMULA_START.test(value) ? { value: `'${value}`, quote: true } : value;
}

/** CSV text of `records`, every text cell neutralised. */
export function stringifyCsv(records: unknown[][]): string {
  return stringify(records, { cast: { string: neutraliseCell } });
}
