import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import type { Database } from 'bastion';
import { BACKENDS } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// SQLite reads that may scan (searches) run on worker threads with read-only connections of
// their own (packages/bastion/src/db/scan-readers.ts). Proven here through Conduit's tables: the event loop goes
// on while one runs, and such a connection cannot write. The readers by themselves (one that cannot
// start, their priority): packages/bastion/test/scan-readers.test.ts.

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
}
