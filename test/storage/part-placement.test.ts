// The embedded engine's table directories marked so that their parts spread over ext4's block
// groups (chattr +T), every table after the migrations; where the file system cannot take the
// mark (tmpfs) or there are no tables, nothing is marked, it is logged, and nothing fails.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { spreadPartDirectories, tableDirectories } from '../../src/storage/part-placement.js';
import { openTestStore } from '../harness/store.js';

const EXT4 = 0xef53;
const lines: { msg: string; reason?: string }[] = [];
const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });

t.test('every table directory of a migrated store is marked', async (t) => {
  const store = await openTestStore('placement');
  t.teardown(() => store.close());
  const dirs = await tableDirectories(store.dataDir);
  const tables = await store.db.rows<{ n: number }>(
    "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'",
  );
  t.ok(
    dirs.length >= tables[0]!.n,
    `${dirs.length} directories for ${tables[0]!.n} MergeTree tables`,
  );
  if (statfsSync(store.dataDir).type !== EXT4) {
    t.equal(await spreadPartDirectories(store.dataDir, log), 0, 'not ext4: nothing marked');
    return;
  }
  t.equal(await spreadPartDirectories(store.dataDir, log), dirs.length);
  const attrs = execFileSync('lsattr', ['-d', ...dirs])
    .toString()
    .trim()
    .split('\n');
  t.equal(attrs.filter((a) => /^\S*T\S* /.test(a)).length, dirs.length, 'each has the T flag');
  // Marked again at every start: the same answer.
  t.equal(await spreadPartDirectories(store.dataDir, log), dirs.length);
});

t.test('a file system that refuses the mark, and no tables at all', async (t) => {
  const shm = mkdtempSync(join('/dev/shm', 'ofd-placement-'));
  t.teardown(() => rmSync(shm, { recursive: true, force: true }));
  mkdirSync(join(shm, 'clickhouse', 'store', 'abc', 'abc-table'), { recursive: true });
  lines.length = 0;
  t.equal(await spreadPartDirectories(shm, log), 0, 'tmpfs takes no T flag');
  t.match(lines, [{ msg: 'part directories not spread' }]);
  const empty = mkdtempSync(join(tmpdir(), 'ofd-placement-empty-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  t.equal(await spreadPartDirectories(empty, log), 0, 'no store yet: nothing to mark');
});
