// Schema of forwarding to the tax authority (migration 40). The forwarder reads committed
// documents from `documents` itself; what it needs beside them:
// - forwarding_heads: the highest doc_seq stored per KKM, kept by a materialized view in the
//   same insert as the documents (max is idempotent: a retried insert changes nothing), so
//   finding the KKMs with something new reads one small row per KKM, not the documents;
// - kkm_events: the registry events forwarded as `kkm_event` documents (registered,
//   re-registered, deregistered, blocked, unblocked, token reissued), numbered per KKM, with
//   the authority's confirmation once it came back;
// - forwarding_positions: per transport and KKM, the last document and event taken by the
//   receiver (the durable position: Redis holds none of it);
// - forwarding_replays: operators' requests to resend from a time, applied by the forwarder
//   that holds the transport's lease, between two batches.
import type { Migration } from './migrations.js';

const EVENT_COLUMNS = `kkm_id, event_seq, kind, at, org_id, point_id, kgd_number, bin,
  serial_number, model, detail, version`;

/** KKMs registered before this migration, as the events that made them what they are. */
const registryAsEvents = (seq: number, kind: string, where: string) => `
  SELECT k.kkm_id, toUInt32(${seq}), ${kind}, k.created_at, k.org_id, k.point_id, k.fns_kkm_id,
    o.bin, k.serial_number, k.model, '{"source":"migration"}', toUInt64(1)
  FROM (SELECT * FROM kkms FINAL) AS k
  LEFT JOIN (SELECT org_id, bin FROM orgs FINAL) AS o ON o.org_id = k.org_id
  ${where}`;

export const forwardingMigration: Migration = {
  version: 40,
  name: 'forwarding',
  statements: [
    `CREATE TABLE IF NOT EXISTS forwarding_heads (
      kkm_id UInt32,
      doc_seq SimpleAggregateFunction(max, UInt32)
    ) ENGINE = AggregatingMergeTree ORDER BY kkm_id`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS forwarding_heads_mv TO forwarding_heads AS
      SELECT kkm_id, max(doc_seq) AS doc_seq FROM documents GROUP BY kkm_id`,
    `INSERT INTO forwarding_heads SELECT kkm_id, max(doc_seq) FROM documents GROUP BY kkm_id`,
    `CREATE TABLE IF NOT EXISTS kkm_events (
      kkm_id UInt32,
      event_seq UInt32,
      kind LowCardinality(String),
      at DateTime64(3, 'UTC'),
      org_id UInt32,
      point_id UInt32,
      kgd_number String,
      bin String,
      serial_number String,
      model String,
      detail String,
      confirmed_at Nullable(DateTime64(3, 'UTC')),
      reference String DEFAULT '',
      version UInt64
    ) ENGINE = ReplacingMergeTree(version) ORDER BY (kkm_id, event_seq)`,
    `INSERT INTO kkm_events (${EVENT_COLUMNS})
      ${registryAsEvents(1, "'registered'", '')}
      UNION ALL
      ${registryAsEvents(2, 'toString(k.status)', "WHERE k.status != 'active'")}`,
    `CREATE TABLE IF NOT EXISTS forwarding_positions (
      transport LowCardinality(String),
      kkm_id UInt32,
      doc_seq UInt32,
      event_seq UInt32,
      forwarded_at DateTime64(3, 'UTC'),
      version UInt64
    ) ENGINE = ReplacingMergeTree(version) ORDER BY (transport, kkm_id)`,
    `CREATE TABLE IF NOT EXISTS forwarding_replays (
      transport LowCardinality(String),
      replay_id String,
      kkm_id UInt32,
      from_time DateTime64(3, 'UTC'),
      requested_at DateTime64(3, 'UTC'),
      applied_at Nullable(DateTime64(3, 'UTC')),
      rewound UInt32,
      version UInt64
    ) ENGINE = ReplacingMergeTree(version) ORDER BY (transport, replay_id)`,
  ],
};
