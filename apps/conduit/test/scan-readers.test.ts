import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type { Database } from 'bastion';
import { READER_NICENESS, ScanReaders } from 'bastion/internals';
import { BACKENDS } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// SQLite reads that may scan (searches) run on worker threads with read-only connections of
// their own (packages/bastion/src/db/scan-readers.ts). Proven here: the event loop goes on while one runs, such a
// connection cannot write, and a reader that cannot start fails only its own query.

/** A read that keeps SQLite busy for a while (counting to `n`), built by the query builder. */
const slowCount = (n: number) => (db: Kysely<Database>) =>
  db.selectNoFrom(
    sql<number>`(with recursive c(n) as (select 1 union all select n + 1 from c where n < ${n}) select count(*) from c)`.as('n'),
  );

if (BACKENDS.includes('sqlite')) {
  test('[sqlite] a long scan runs off the event loop: timers and the app connection keep answering while it runs', async (t) => {
    // Its deadline far away: this scan is meant to run to its end.
    const { runtime } = await startTestApp(t, 'sqlite', {}, { scanTimeoutMs: 600_000 });
    const db = runtime.db;
    await db.scan(slowCount(1)(db.kysely)); // the reader thread is started

    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    t.after(() => clearInterval(timer));
    let scanned = false;
    const started = performance.now();
    const scan = db.scan(slowCount(3_000_000)(db.kysely)).then((rows) => {
      scanned = true;
      return rows;
    });
    const total = await conduitDb(db).selectFrom('article_total').select('articles').executeTakeFirstOrThrow();
    assert.equal(total.articles, 0);
    assert.equal(scanned, false, 'the app connection answered while the scan was still running');
    const [row] = await scan;
    const took = performance.now() - started;
    clearInterval(timer);
    assert.equal(row?.n, 3_000_000);
    // On the event loop the count would run in one synchronous call: no timer could fire at all.
    assert.ok(ticks >= Math.min(20, took / 10), `timers fired ${ticks} times during a ${took.toFixed(0)} ms scan`);
  });

  test('[sqlite] a scan reader cannot write: a delete sent to it is refused and nothing is deleted', async (t) => {
    const { runtime } = await startTestApp(t, 'sqlite');
    const author = await createUser(runtime);
    await writeArticle(runtime, author.username, { title: 'Kept' });
    const db = runtime.db;
    await assert.rejects(
      db.scan(conduitDb(db).deleteFrom('articles').returning('id')),
      (err: Error & { code?: string }) => err.code === 'SQLITE_READONLY',
    );
    await assert.rejects(
      db.scan(db.kysely.updateTable('users').set({ role: 'admin' }).returning('id')),
      (err: Error & { code?: string }) => err.code === 'SQLITE_READONLY',
    );
    const titles = await conduitDb(db).selectFrom('articles').select('title').execute();
    assert.deepEqual(titles, [{ title: 'Kept' }]);
    assert.equal((await conduitDb(db).selectFrom('users').select('role').executeTakeFirstOrThrow()).role, 'member');
    const [found] = await db.scan(conduitDb(db).selectFrom('articles').select('title'));
    assert.equal(found?.title, 'Kept', 'the reader still answers after refusing');
  });

  test('[sqlite] a reader that cannot start fails its own query, and the next scan starts a new one', async (t: TestContext) => {
    const { runtime } = await startTestApp(t, 'sqlite');
    const dir = mkdtempSync(join(tmpdir(), 'bastion-scan-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'later.db');
    const readers = new ScanReaders(file, (node, id) => runtime.db.kysely.getExecutor().compileQuery(node, id));
    t.after(() => readers.close());
    const query = slowCount(1)(runtime.db.kysely).compile();
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
      const { runtime } = await startTestApp(t, 'sqlite');
      await runtime.db.scan(slowCount(1)(runtime.db.kysely)); // the reader thread is started
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
