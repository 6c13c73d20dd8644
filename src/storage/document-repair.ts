// A document whose commit was cut short: the INSERT into `documents` writes the document and
// then, as parts of their own, what the materialized views derive from it (the forwarding
// heads, the cabinet's receipts, the receipt check, the KKM's activity, the daily sums). A kill
// between the parts leaves the document stored without some of them; its register, unanswered,
// resends, and the answer then comes from the stored document. So on such a resend those
// views' inserts are made once more for that one document: each of them takes a copy that was
// not missing without harm.
import type { Db } from './db.js';
import { healHeads } from './forwarding.js';
import { readModelRepairs } from './read-models-migration.js';
import { cancellationRepair } from './receipt-lookup-migration.js';
import { isId } from './values.js';

export interface DocumentKey {
  kkmId: number;
  docSeq: number;
}

export async function repairDocument(
  db: Pick<Db, 'rows' | 'insert' | 'command'>,
  kkmId: number,
  docSeq: number,
): Promise<void> {
  await repairDocuments(db, [{ kkmId, docSeq }]);
}

/** The same for many documents at once (a spool entry drained a second time, spool.ts). */
export async function repairDocuments(
  db: Pick<Db, 'rows' | 'insert' | 'command'>,
  documents: readonly DocumentKey[],
): Promise<void> {
  const keys = documentKeysIn(documents);
  if (!keys) return;
  // Qualified: the cancellations' select names another column doc_seq.
  const where = `(documents.kkm_id, documents.doc_seq) IN ${keys}`;
  for (const statement of [...readModelRepairs(where), cancellationRepair(where)]) {
    await db.command(statement);
  }
  await healHeads(db, { kkmIds: [...new Set(documents.map((k) => k.kkmId).filter(isId))] });
}

/**
 * The keys as a tuple literal for `(kkm_id, doc_seq) IN …` (a statement takes no parameters
 * here), those that are ids only; null when none is.
 */
export function documentKeysIn(keys: readonly DocumentKey[]): string | null {
  const valid = keys.filter((k) => isId(k.kkmId) && isId(k.docSeq));
  return valid.length ? `(${valid.map((k) => `(${k.kkmId},${k.docSeq})`).join(',')})` : null;
}
