// Where the embedded engine's parts land on disk. Each commit writes a part (a directory of a
// dozen small files) into every table it fills, and merges write new parts and delete old
// ones: thousands of files created and deleted a minute. ext4 puts a new file in the block
// group of its directory, and without a journal (as on these machines) it passes over every
// inode of that group freed in the last minutes, reading each one's inode block first: with
// all of a table's parts in one group, creating a file took ~0.8 ms and file creation was a
// third to a half of a commit's CPU (bench/RESULTS.md, "the file system"). A table directory
// marked as the top of a directory hierarchy (chattr +T, ext4's Orlov allocator) has its part
// directories, and so their files, spread over the block groups instead.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';

const run = promisify(execFile);

/** The table directories of the embedded engine under `dataDir` (Atomic databases: store/x/uuid). */
export async function tableDirectories(dataDir: string): Promise<string[]> {
  const store = join(dataDir, 'clickhouse', 'store');
  const shards = await readdir(store, { withFileTypes: true }).catch(() => []);
  const dirs = await Promise.all(
    shards
      .filter((s) => s.isDirectory())
      .map(async (s) =>
        (await readdir(join(store, s.name), { withFileTypes: true }))
          .filter((d) => d.isDirectory())
          .map((d) => join(store, s.name, d.name)),
      ),
  );
  return dirs.flat();
}

/**
 * Marks every table directory so that its parts spread over the file system's block groups;
 * answers how many were marked (0 where the file system or the machine cannot: it is only a
 * placement hint, so that is logged and the engine runs as before).
 */
export async function spreadPartDirectories(dataDir: string, log: Logger): Promise<number> {
  const dirs = await tableDirectories(dataDir);
  if (!dirs.length) return 0;
  try {
    await run('chattr', ['+T', ...dirs]);
    log.debug({ tables: dirs.length }, 'part directories spread over block groups');
    return dirs.length;
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no chattr' : 'refused';
    log.info({ reason, err: (err as Error).message.split('\n')[0] }, 'part directories not spread');
    return 0;
  }
}
