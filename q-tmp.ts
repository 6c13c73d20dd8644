import { openDb } from './src/storage/db.js';
const db = openDb({ dataDir: process.argv[2]!, readSessions: 0 });
const q = async (s: string) => console.log(s.slice(0, 80), '\n', JSON.stringify(await db.rows(s)));
await q(`SELECT kkm_id, count() n, uniqExact(doc_seq) seqs, max(doc_seq) mx, countIf(doc_type='ticket') tickets, uniqExact(ticket_number) tn FROM documents GROUP BY kkm_id ORDER BY kkm_id`);
await q(`SELECT kkm_id, doc_seq, count() c, groupArray(ticket_number) t, groupArray(req_num) r FROM documents GROUP BY kkm_id, doc_seq HAVING c > 1`);
await q(`SELECT * FROM forwarding_positions FINAL`);
await q(`SELECT kkm_id, max(doc_seq) FROM forwarding_heads GROUP BY kkm_id`);
await q(`SELECT kkm_id, max(event_seq) FROM kkm_events GROUP BY kkm_id`);
await db.close();
