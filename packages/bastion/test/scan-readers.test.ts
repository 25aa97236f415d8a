import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { ScanTimeoutError } from '../src/db/scan-deadline.js';
import { READER_NICENESS, ScanReaders } from '../src/db/scan-readers.js';
import type { Database } from '../src/db/schema.js';
import { BACKENDS } from '../src/testing/backends.js';

// SQLite reads that may scan (searches) run on worker threads with read-only connections of
// their own (packages/bastion/src/db/scan-readers.ts), each scan with a deadline
// (packages/bastion/src/db/scan-deadline.ts). Proven here on reader pools over fresh files of
// their own: a reader stopped at its deadline is kept or replaced, a reader that cannot start
// fails only its own query, and the readers run below the event loop's priority. Through an
// app's searches (a 503 at the deadline, the event loop free, a reader that cannot write):
// apps/conduit/test/scan-deadline.test.ts and apps/conduit/test/scan-readers.test.ts.

type Ctx = { after(fn: () => unknown): void };

/** A reader pool over a fresh SQLite file of its own, compiling as the app does. */
function readersFor(t: Ctx, timeoutMs?: number): { readers: ScanReaders; kysely: Kysely<Database> } {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-scan-'));
  const file = join(dir, 'scan.db');
  const writer = new SQLite(file);
  writer.pragma('journal_mode = WAL');
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: writer }) });
  const readers = new ScanReaders(
    file,
    (node, id) => kysely.getExecutor().compileQuery(node, id),
    timeoutMs === undefined ? { threads: 1 } : { threads: 1, timeoutMs },
  );
  t.after(async () => {
    await readers.close();
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return { readers, kysely };
}

const one = (kysely: Kysely<Database>) => kysely.selectNoFrom(sql<number>`1`.as('n')).compile();

/** `select count(*) from c` over c = 1, 2, 3, … without end, built by the query builder (so with its per-row checkpoints). */
const endlessCount = (kysely: Kysely<Database>) =>
  kysely
    .withRecursive('c(n)', (qb) =>
      qb.selectNoFrom(sql<number>`1`.as('n')).unionAll((qb) => qb.selectFrom('c').select(sql<number>`n + 1`.as('n'))),
    )
    .selectFrom('c')
    .select((eb) => eb.fn.countAll<number>().as('n'));

if (BACKENDS.includes('sqlite')) {
  test(
    '[sqlite] a scan stopped at its deadline is let go of at its next row: the same reader thread answers the next scan',
    { timeout: 120_000 },
    async (t) => {
      const { readers, kysely } = readersFor(t, 200);
      assert.deepEqual(await readers.run(one(kysely)), [{ n: 1 }]);
      const [thread] = readers.threadIds;
      await assert.rejects(readers.run(endlessCount(kysely).compile()), ScanTimeoutError);
      assert.deepEqual(await readers.run(one(kysely)), [{ n: 1 }]);
      assert.deepEqual(readers.threadIds, [thread], 'the reader stopped by itself, at its checkpoint, and was kept');
    },
  );

  test(
    '[sqlite] a reader that does not let go of its statement past the deadline is replaced by a fresh thread, which answers the next scan',
    { timeout: 120_000 },
    async (t) => {
      const { readers, kysely } = readersFor(t, 100);
      assert.deepEqual(await readers.run(one(kysely)), [{ n: 1 }]);
      const [thread] = readers.threadIds;
      // Counting in one SQL expression, written as raw SQL: no select of the builder's is around
      // the rows, so no checkpoint is either. The thread ends when it is done (a few seconds).
      const stuck = kysely.selectNoFrom(
        sql<number>`(with recursive c(n) as (select 1 union all select n + 1 from c where n < 10000000) select count(*) from c)`.as('n'),
      );
      await assert.rejects(readers.run(stuck.compile()), ScanTimeoutError);
      assert.deepEqual(await readers.run(one(kysely)), [{ n: 1 }]);
      assert.equal(readers.threadIds.length, 1);
      assert.notEqual(readers.threadIds[0], thread, 'a new thread answered: the stuck one was terminated and replaced');
    },
  );

  test('[sqlite] a reader that cannot start fails its own query, and the next scan starts a new one', async (t) => {
    // Queries compiled by a SQLite Kysely of their own; the readers' file does not exist yet.
    const compiler = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
    t.after(() => compiler.destroy());
    const dir = mkdtempSync(join(tmpdir(), 'bastion-scan-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'later.db');
    const readers = new ScanReaders(file, (node, id) => compiler.getExecutor().compileQuery(node, id));
    t.after(() => readers.close());
    const query = one(compiler);
    await assert.rejects(
      readers.run(query),
      (err: Error & { code?: string }) => err.code === 'SQLITE_CANTOPEN',
      'no file yet: the reader fails',
    );
    new SQLite(file).close();
    assert.deepEqual(await readers.run(query), [{ n: 1 }], 'a new reader answers');
    await readers.close();
    await assert.rejects(readers.run(query), /closed/);
  });

  test(
    '[sqlite] the reader thread runs at a lower priority than the event loop, which keeps its own',
    { skip: process.platform !== 'linux' && 'per-thread nice values are Linux’s' },
    async (t) => {
      const { readers, kysely } = readersFor(t);
      await readers.run(one(kysely)); // the reader thread is started
      // Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value (after the command name).
      const niceOf = (tid: string): number | null => {
        try {
          return Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
        } catch {
          return null; // a thread that ended meanwhile
        }
      };
      const nice = readdirSync('/proc/self/task').map((tid) => ({ tid, nice: niceOf(tid) }));
      assert.equal(niceOf(String(process.pid)), 0, 'the main thread keeps its priority');
      assert.ok(
        nice.some((n) => n.nice === READER_NICENESS),
        `a thread at nice ${READER_NICENESS}: ${JSON.stringify(nice)}`,
      );
    },
  );
}
