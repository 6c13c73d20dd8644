// The ledger check of a continuous fleet run (fleet.ts): every ticket number a register was
// answered OK, compared with what ClickHouse holds, counted without FINAL and with it.
import type { Db } from '../../../src/storage/db.js';

export interface LedgerCheck {
  acked: number;
  /** Acknowledged but not stored. */
  lost: string[];
  /** Stored more than once, counted without FINAL (ticket number → copies). */
  duplicated: { ticketNumber: string; copies: number }[];
  /** Stored but never acknowledged (a request given up while its commit landed). */
  unacknowledged: string[];
  /** Documents of any type whose (kkm_id, doc_seq) has more than one physical row. */
  duplicateSeqs: number;
  /** The logical rows (FINAL) equal the acknowledged receipts, register by register. */
  finalMatches: boolean;
}

/** Compares the fleet's ledger with the documents table, without FINAL and with it. */
export async function checkLedger(
  db: Pick<Db, 'rows' | 'afterWrites'>,
  acked: Map<number, string[]>,
): Promise<LedgerCheck> {
  const ids = [...acked.keys()];
  // Behind the writes handed in so far (a spool's too: what is acknowledged, drained).
  const store = db.afterWrites?.() ?? db;
  const q = <T>(query: string) => store.rows<T>(query, { ids });
  const physical = await q<{ ticket_number: string; n: string }>(
    `SELECT ticket_number, count() AS n FROM documents
     WHERE doc_type = 'ticket' AND kkm_id IN {ids:Array(UInt32)} GROUP BY ticket_number`,
  );
  const final = await q<{ kkm_id: number; ticket_number: string }>(
    `SELECT kkm_id, ticket_number FROM documents FINAL
     WHERE doc_type = 'ticket' AND kkm_id IN {ids:Array(UInt32)} ORDER BY kkm_id, doc_seq`,
  );
  const [seqs] = await q<{ n: string }>(
    `SELECT count() AS n FROM (SELECT kkm_id, doc_seq, count() AS c FROM documents
     WHERE kkm_id IN {ids:Array(UInt32)} GROUP BY kkm_id, doc_seq HAVING c > 1)`,
  );
  const stored = new Map(physical.map((r) => [r.ticket_number, Number(r.n)]));
  const ackedAll = new Set([...acked.values()].flat());
  const finalBy = new Map<number, string[]>();
  for (const r of final) {
    const list = finalBy.get(Number(r.kkm_id)) ?? [];
    list.push(r.ticket_number);
    finalBy.set(Number(r.kkm_id), list);
  }
  let finalMatches = true;
  for (const [kkmId, numbers] of acked) {
    const f = finalBy.get(kkmId) ?? [];
    if (f.length !== numbers.length || f.some((n, i) => n !== numbers[i])) finalMatches = false;
  }
  return {
    acked: ackedAll.size,
    lost: [...ackedAll].filter((n) => !stored.has(n)),
    duplicated: [...stored]
      .filter(([, n]) => n > 1)
      .map(([ticketNumber, copies]) => ({ ticketNumber, copies })),
    unacknowledged: [...stored.keys()].filter((n) => !ackedAll.has(n)),
    duplicateSeqs: Number(seqs?.n ?? 0),
    finalMatches,
  };
}
