import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { ScanReaders } from 'bastion/internals';
import { type Database, ScanTimeoutError } from 'bastion';
import { BACKENDS, newBrowser } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { writeArticle } from './helpers/conduit-fixtures.js';
import { endlessCount, endlessRunning, endlessScansFor } from './helpers/scan-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// Every scan has a deadline (packages/bastion/src/db/scan-deadline.ts): a search that would read without end is
// stopped there and answered 503 "took too long", and the reader or connection it held is free
// for the next search. Proven with a scan that never ends on its own (an endless recursive
// count, put in place of one search's statement), so nothing here depends on how fast the
// machine is: without the deadline these tests never get their answer.

const DEADLINE_MS = 1_500;
const titles = (html: string): string[] => [...html.matchAll(/class="preview-link"[^>]*>\s*<h2>([^<]*)<\/h2>/g)].map((m) => m[1]!);

for (const backend of BACKENDS) {
  test(
    `[${backend}] a search that runs past its deadline is stopped and answered 503 "took too long", and the next search is answered`,
    { timeout: 120_000 },
    async (t) => {
      const { app, runtime } = await startTestApp(t, backend, {}, { scanTimeoutMs: DEADLINE_MS });
      const author = await createUser(runtime);
      await writeArticle(runtime, author.username, { title: 'Needle in a haystack' });
      const { tag } = endlessScansFor(t, runtime.db, 'endless');
      const visitor = newBrowser(app);

      const stopped = await visitor.get('/search?q=endless');
      assert.equal(stopped.statusCode, 503);
      assert.equal(stopped.headers['retry-after'], '5');
      assert.match(stopped.body, /took too long/);

      const next = await visitor.get('/search?q=needle');
      assert.equal(next.statusCode, 200);
      assert.deepEqual(titles(next.body), ['Needle in a haystack']);
      if (backend === 'postgres') {
        // Stopped by the server, not only given up on by the app: nothing of it still runs.
        assert.equal(await endlessRunning(runtime.db.kysely, tag), 0, 'the endless statement was cancelled on the server');
      }
    },
  );
}

if (BACKENDS.includes('sqlite')) {
  /** A reader pool over a fresh SQLite file of its own, compiling as the app does. */
  function readersFor(t: { after(fn: () => unknown): void }, timeoutMs: number): { readers: ScanReaders; kysely: Kysely<Database> } {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-scan-'));
    const file = join(dir, 'scan.db');
    const writer = new SQLite(file);
    writer.pragma('journal_mode = WAL');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: writer }) });
    const readers = new ScanReaders(file, (node, id) => kysely.getExecutor().compileQuery(node, id), { threads: 1, timeoutMs });
    t.after(async () => {
      await readers.close();
      await kysely.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    return { readers, kysely };
  }
  const one = (kysely: Kysely<Database>) => kysely.selectNoFrom(sql<number>`1`.as('n')).compile();

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
}
