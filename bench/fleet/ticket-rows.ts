// Wide ticket rows as ingest writes them into `documents` (the figures and the 2.0.3 line
// columns, from one request each so the Nested arrays have equal lengths), for benches that
// insert straight into the engine: 64 receipts of 1 to `maxItems` lines, used in turn, each
// row with the next doc_seq.
import { ticketFigures } from '../../src/fiscal/document-rows.js';
import { seededRandom, ticket } from '../../src/sim/documents.js';
import { ticketColumns203 } from '../../src/storage/ticket-columns-203.js';

export function ticketRows(
  maxItems: number,
  extra: (kkm: number) => Record<string, unknown> = () => ({}),
): (kkm: number) => Record<string, unknown> {
  const random = seededRandom(7);
  const raw = Buffer.alloc(400, 7).toString('base64');
  const templates = Array.from({ length: 64 }, () => {
    const request = ticket(random, { items: 1 + Math.floor(random() * maxItems) });
    return { ...ticketFigures(request), ...ticketColumns203(request) };
  });
  let seq = 0;
  return (kkm) => ({
    kkm_id: kkm,
    doc_seq: ++seq,
    doc_type: 'ticket',
    shift_number: 1,
    device_time: '2026-11-22 10:00:00',
    received_at: Date.now(),
    ticket_number: String(seq),
    raw_request: raw,
    response: raw.slice(0, 120),
    state: '{"seq":1}',
    ...extra(kkm),
    ...templates[seq % templates.length],
  });
}
