import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, newBrowser } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { writeArticle } from './helpers/conduit-fixtures.js';
import { endlessRunning, endlessScansFor } from './helpers/scan-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// Every scan has a deadline (packages/bastion/src/db/scan-deadline.ts): a search that would read without end is
// stopped there and answered 503 "took too long", and the reader or connection it held is free
// for the next search. Proven with a scan that never ends on its own (an endless recursive
// count, put in place of one search's statement), so nothing here depends on how fast the
// machine is: without the deadline these tests never get their answer. The SQLite readers by
// themselves (a stopped reader kept, or replaced when it does not let go): packages/bastion/test/scan-readers.test.ts.

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
