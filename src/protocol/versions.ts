// Protocol 2.0.2 and 2.0.3 side by side. The header's VERSION picks the schema and the rules:
// 200-202 speak 2.0.2, 203 speaks 2.0.3 (quantities 64-bit, card/mobile payment details, parent
// ticket, excise stamp lists, NTIN, Kazakh addresses, geo-positions, barcode lookup). An answer
// is encoded with the schema of the request's version. Both revisions are loaded once; picking
// one is a comparison, no allocation on the hot path.
import { loadRevision, type Revision } from './revision.js';

export const V202: Revision = loadRevision('2.0.2', 'kkm.json');
export const V203: Revision = loadRevision('2.0.3', 'kkm203.json');

/** First header VERSION of protocol 2.0.3. */
export const VERSION_203 = 203;

export const is203 = (version: number): boolean => version >= VERSION_203;

/** The schema a frame of this header VERSION is read and answered with. */
export const schemaFor = (version: number): Revision => (version >= VERSION_203 ? V203 : V202);
