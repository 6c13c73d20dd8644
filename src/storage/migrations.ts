// Versioned schema migrations, applied in order at start. Each version runs once; its
// statements are idempotent (IF NOT EXISTS) so a start interrupted mid-migration heals itself.
// Engines make a repeated insert harmless: every table is a ReplacingMergeTree keyed by its
// natural identity, and reads that must see one copy use FINAL.
import type { Db } from './db.js';
import { readModelMigrations } from './read-models-migration.js';
import { forwardingMigration } from './forwarding-migration.js';
import { receiptLookupMigration } from './receipt-lookup-migration.js';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Money columns are Int64 tiyn; device times are the device's wall clock as received. */
export const migrations: Migration[] = [
  {
    version: 1,
    name: 'registry',
    statements: [
      `CREATE TABLE IF NOT EXISTS orgs (
        org_id UInt32,
        bin String,
        title String,
        address String,
        okved String,
        created_at DateTime64(3, 'UTC'),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY org_id`,
      `CREATE TABLE IF NOT EXISTS points (
        point_id UInt32,
        org_id UInt32,
        title String,
        address String,
        created_at DateTime64(3, 'UTC'),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY point_id`,
      `CREATE TABLE IF NOT EXISTS kkms (
        kkm_id UInt32,
        org_id UInt32,
        point_id UInt32,
        serial_number String,
        model String,
        fns_kkm_id String,
        status Enum8('active' = 1, 'blocked' = 2, 'deregistered' = 3),
        token UInt32,
        token_epoch UInt32,
        created_at DateTime64(3, 'UTC'),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY kkm_id`,
      `CREATE TABLE IF NOT EXISTS users (
        user_id UInt32,
        org_id UInt32,
        login String,
        password_hash String,
        name String,
        email String,
        role Enum8('owner' = 1, 'user' = 2),
        point_ids Array(UInt32),
        group_ids Array(UInt32),
        permissions Array(String),
        deleted UInt8,
        created_at DateTime64(3, 'UTC'),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY user_id`,
      `CREATE TABLE IF NOT EXISTS cashiers (
        org_id UInt32,
        login String,
        code UInt32,
        name String,
        password_hash String,
        roles Array(UInt8),
        deleted UInt8,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (org_id, login)`,
      `CREATE TABLE IF NOT EXISTS nomenclature (
        org_id UInt32,
        nomenclature_version UInt32,
        created_at DateTime64(3, 'UTC'),
        elements String
      ) ENGINE = ReplacingMergeTree ORDER BY (org_id, nomenclature_version)`,
      `CREATE TABLE IF NOT EXISTS settings (
        name String,
        value String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY name`,
    ],
  },
  {
    version: 2,
    name: 'documents',
    statements: [
      // Every fiscal document a device sent, one wide row each: a receipt with its items,
      // payments and taxes, a shift closure with both Z reports, a money placement or a
      // cancellation. (kkm_id, doc_seq) is the idempotency key: a retried document computes the
      // same row. The state columns hold the device state after the document, so the hot
      // state can be rebuilt from the last row when Redis has lost it.
      `CREATE TABLE IF NOT EXISTS documents (
        kkm_id UInt32,
        doc_seq UInt32,
        doc_type Enum8('ticket' = 1, 'close_shift' = 2, 'money_placement' = 3, 'cancel_ticket' = 4),
        org_id UInt32,
        point_id UInt32,
        shift_number UInt32,
        device_time DateTime('UTC'),
        received_at DateTime64(3, 'UTC'),
        is_offline UInt8,
        offline_number UInt32,
        printed_number UInt64,
        req_num UInt16,
        token_in UInt32,
        token_out UInt32,
        operator_code UInt32,
        operator_name String,
        ticket_number String,
        operation UInt8,
        total Int64,
        taken Int64,
        change Int64,
        discount Int64,
        markup Int64,
        items Nested (
          type UInt8,
          name String,
          section String,
          quantity UInt32,
          price Int64,
          sum Int64,
          code UInt64,
          barcode String,
          unit String,
          tax_percent UInt32,
          tax_sum Int64
        ),
        payments Nested (type UInt8, sum Int64),
        taxes Nested (type UInt32, percent UInt32, sum Int64, turnover Int64),
        customer_iin String,
        customer_email String,
        customer_phone String,
        placement UInt8,
        cancelled_seq UInt32,
        device_report String,
        server_report String,
        state String,
        raw_request String,
        response String,
        INDEX device_time_idx device_time TYPE minmax GRANULARITY 4
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(device_time)
      ORDER BY (kkm_id, doc_seq)`,
      `CREATE TABLE IF NOT EXISTS device_events (
        kkm_id UInt32,
        received_at DateTime64(3, 'UTC'),
        kind LowCardinality(String),
        detail String
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(received_at)
      ORDER BY (kkm_id, received_at, kind)`,
      // Derived shapes of the one wide row, for readers that want them.
      `CREATE VIEW IF NOT EXISTS tickets AS
        SELECT * EXCEPT (device_report, server_report) FROM documents FINAL
        WHERE doc_type = 'ticket'`,
      `CREATE VIEW IF NOT EXISTS ticket_items AS
        SELECT kkm_id, doc_seq, shift_number, device_time, operation, item_index,
          items.type AS type, items.name AS name, items.section AS section,
          items.quantity AS quantity, items.price AS price, items.sum AS sum,
          items.tax_percent AS tax_percent, items.tax_sum AS tax_sum
        FROM documents FINAL
        ARRAY JOIN items, arrayEnumerate(items.type) AS item_index
        WHERE doc_type = 'ticket'`,
      `CREATE VIEW IF NOT EXISTS ticket_payments AS
        SELECT kkm_id, doc_seq, shift_number, device_time, operation,
          payments.type AS type, payments.sum AS sum
        FROM documents FINAL ARRAY JOIN payments WHERE doc_type = 'ticket'`,
      `CREATE VIEW IF NOT EXISTS ticket_taxes AS
        SELECT kkm_id, doc_seq, shift_number, device_time, operation,
          taxes.type AS type, taxes.percent AS percent, taxes.sum AS sum, taxes.turnover AS turnover
        FROM documents FINAL ARRAY JOIN taxes WHERE doc_type = 'ticket'`,
      `CREATE VIEW IF NOT EXISTS shifts AS
        SELECT kkm_id, org_id, point_id, shift_number, doc_seq, device_time AS closed_at,
          received_at, is_offline, operator_code, device_report, server_report
        FROM documents FINAL WHERE doc_type = 'close_shift'`,
      `CREATE VIEW IF NOT EXISTS money_placements AS
        SELECT kkm_id, org_id, doc_seq, shift_number, device_time, received_at, is_offline,
          placement, total AS sum, operator_code
        FROM documents FINAL WHERE doc_type = 'money_placement'`,
    ],
  },
  {
    version: 3,
    name: 'cabinet',
    statements: [
      // Groups grant points of sale and permissions to their members (users.group_ids).
      `CREATE TABLE IF NOT EXISTS groups (
        group_id UInt32,
        org_id UInt32,
        name String,
        point_ids Array(UInt32),
        permissions Array(String),
        deleted UInt8,
        created_at DateTime64(3, 'UTC'),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY group_id`,
      // Per-organization notifications (KKM offline, shift timeouts, findings, blocks…).
      // dedup_key makes raising the same notification twice harmless.
      `CREATE TABLE IF NOT EXISTS notifications (
        org_id UInt32,
        notification_id String,
        created_at DateTime64(3, 'UTC'),
        kind LowCardinality(String),
        kkm_id UInt32,
        point_id UInt32,
        title String,
        detail String,
        read_at Nullable(DateTime64(3, 'UTC')),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY (org_id, notification_id)`,
    ],
  },
  {
    version: 4,
    name: 'reconciliation',
    statements: [
      // What reconciling a KKM's offline uploads found, one row per finding. The key is the
      // finding's identity (KKM, shift, kind, subject), so reconciling the same documents again
      // stores nothing new; the documents themselves stay exactly as sent.
      `CREATE TABLE IF NOT EXISTS reconciliation_findings (
        kkm_id UInt32,
        shift_number UInt32,
        kind LowCardinality(String),
        subject String,
        org_id UInt32,
        point_id UInt32,
        doc_seq UInt32,
        severity LowCardinality(String),
        message String,
        detail String,
        job_id String,
        found_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree
      ORDER BY (kkm_id, shift_number, kind, subject)`,
      // How far each KKM has been reconciled: documents up to last_doc_seq and offline-period
      // events received up to last_event_at. The row with the highest version wins.
      `CREATE TABLE IF NOT EXISTS reconciliation_progress (
        kkm_id UInt32,
        last_doc_seq UInt32,
        last_event_at DateTime64(3, 'UTC'),
        reconciled_at DateTime64(3, 'UTC'),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY kkm_id`,
    ],
  },
  {
    version: 10,
    name: 'protocol 2.0.3 documents',
    // What 2.0.3 adds to a receipt (see ticket-columns-203.ts), with defaults so rows stored
    // before keep reading: a missing Nested subcolumn reads as defaults of its siblings' length.
    // Quantities become 64-bit thousandths (2.0.3 made them uint64).
    // One ALTER with every action: each statement costs a start-up, and this runs on every
    // fresh data directory (the tests start many).
    statements: [
      [
        'protocol_version UInt16 DEFAULT 0',
        'domain Int16 DEFAULT -1',
        '`items.ntin` Array(String)',
        '`items.excise_stamps` Array(Array(String))',
        '`payments.card_terminal_id` Array(String)',
        '`payments.card_type` Array(String)',
        '`payments.card_auth_code` Array(UInt32)',
        '`payments.card_rrn` Array(UInt64)',
        '`payments.card_receipt_number` Array(UInt32)',
        '`payments.mobile_qr_type` Array(String)',
        '`payments.mobile_qr_id` Array(String)',
        "parent_number String DEFAULT ''",
        "parent_time DateTime('UTC') DEFAULT 0",
        "parent_kgd_kkm_id String DEFAULT ''",
        'parent_total Int64 DEFAULT 0',
        'parent_offline UInt8 DEFAULT 0',
      ]
        .map((column) => `ADD COLUMN IF NOT EXISTS ${column}`)
        .concat('MODIFY COLUMN `items.quantity` Array(UInt64)')
        .reduce((sql, action, i) => `${sql}${i ? ',' : ''}\n  ${action}`, 'ALTER TABLE documents'),
    ],
  },
  {
    version: 11,
    name: 'organization settings',
    statements: [
      // Per-organization settings the operator sets: receipt ads, bound taxation (JSON values).
      `CREATE TABLE IF NOT EXISTS org_settings (
        org_id UInt32,
        name LowCardinality(String),
        value String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (org_id, name)`,
    ],
  },
  {
    version: 12,
    name: 'national product catalogue',
    statements: [
      // The national product catalogue (НКТ) the operator loads, for 2.0.3 barcode lookups.
      `CREATE TABLE IF NOT EXISTS product_catalogue (
        barcode String,
        ntin String,
        name_ru String,
        name_kk String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY barcode`,
    ],
  },
  receiptLookupMigration,
  {
    version: 30,
    name: 'self-service registry details',
    statements: [
      // What the taxpayer gives when it registers itself (cabinet manual §1.3, §16): legal
      // form, head, bank details, structured addresses, contacts (JSON in `details`); a service
      // centre (§18) is an organization of kind service_centre.
      `ALTER TABLE orgs
        ADD COLUMN IF NOT EXISTS kind Enum8('taxpayer' = 1, 'service_centre' = 2) DEFAULT 'taxpayer',
        ADD COLUMN IF NOT EXISTS details String DEFAULT '{}'`,
      // Points of sale: the address in parts, a geo-position changed at most once a day, and
      // deletion (§6).
      `ALTER TABLE points
        ADD COLUMN IF NOT EXISTS address_parts String DEFAULT '{}',
        ADD COLUMN IF NOT EXISTS geo String DEFAULT '',
        ADD COLUMN IF NOT EXISTS geo_changed_ms UInt64 DEFAULT 0,
        ADD COLUMN IF NOT EXISTS deleted UInt8 DEFAULT 0`,
      `ALTER TABLE kkms
        ADD COLUMN IF NOT EXISTS name String DEFAULT '',
        ADD COLUMN IF NOT EXISTS year UInt16 DEFAULT 0`,
    ],
  },
  {
    version: 31,
    name: 'applications',
    statements: [
      // The organization's applications (§15 "Документы"): KKM registration, re-registration,
      // deregistration and wired VPN requests, each with its status and how it was signed.
      `CREATE TABLE IF NOT EXISTS applications (
        application_id UInt32,
        org_id UInt32,
        kkm_id UInt32,
        kind Enum8('registration' = 1, 'reregistration' = 2, 'deregistration' = 3, 'vpn' = 4),
        status LowCardinality(String),
        detail String,
        signed_by LowCardinality(String),
        created_at DateTime64(3, 'UTC'),
        decided_at Nullable(DateTime64(3, 'UTC')),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY application_id`,
    ],
  },
  {
    version: 32,
    name: 'service centres',
    statements: [
      // A service centre (ЦТО, §18): an organization of kind service_centre and the KKM models
      // it serves.
      `CREATE TABLE IF NOT EXISTS service_centres (
        org_id UInt32,
        models Array(String),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY org_id`,
      // What a client organization lets a centre see: KKMs and modules, with the grant's state.
      `CREATE TABLE IF NOT EXISTS service_grants (
        grant_id UInt32,
        client_org_id UInt32,
        centre_org_id UInt32,
        kkm_ids Array(UInt32),
        modules Array(String),
        status Enum8('pending' = 1, 'accepted' = 2, 'rejected' = 3, 'terminated' = 4),
        since DateTime64(3, 'UTC'),
        version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY grant_id`,
    ],
  },
  forwardingMigration,
  ...readModelMigrations,
];

export async function migrate(db: Db): Promise<number[]> {
  await db.command(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version UInt32, name String, applied_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY version`);
  const done = new Set(
    (await db.rows<{ version: number }>('SELECT version FROM schema_migrations FINAL')).map(
      (r) => r.version,
    ),
  );
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    for (const query of m.statements) await db.command(query);
    await db.insert('schema_migrations', [
      { version: m.version, name: m.name, applied_at: Date.now() },
    ]);
    applied.push(m.version);
  }
  return applied;
}
