import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, newBrowser, registeredBrowser, SCAN_CONCURRENCY, SCAN_QUEUE_LIMIT, scanning, waitingForScan } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { setRole } from './helpers/conduit-fixtures.js';
import { endlessScansFor, until } from './helpers/scan-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// The admin's user list and audit log are the pages needed to find and lock the account behind
// a flood of searches, so that flood must not stand in front of them: they are admitted in a
// queue of their own and, on SQLite, read on a reader thread of their own. Proven with every
// public slot running a search that never ends (the reader threads, or the connections, truly
// busy) and the public queue full.

for (const backend of BACKENDS) {
  test(
    `[${backend}] with every public scan slot busy and the public queue full, the admin's audit log and user list still answer`,
    { timeout: 120_000 },
    async (t) => {
      const { app, runtime } = await startTestApp(t, backend, {}, { scanTimeoutMs: 600_000 });
      const admin = await registeredBrowser(app);
      await setRole(runtime, admin.username, 'admin');
      const member = await createUser(runtime);
      const stop = new AbortController();
      t.after(() => stop.abort());
      const endless = endlessScansFor(t, runtime.db, 'endless', stop.signal);

      // Each from its own address, so that no one client's share (SCANS_PER_CLIENT) is reached.
      const flood = Array.from({ length: SCAN_CONCURRENCY + SCAN_QUEUE_LIMIT }, () => newBrowser(app).get('/search?q=endless'));
      await until(
        () => scanning() === SCAN_CONCURRENCY && endless.started() === SCAN_CONCURRENCY && waitingForScan() === SCAN_QUEUE_LIMIT,
        () => `the flood never filled the public lane: ${scanning()} scanning, ${waitingForScan()} waiting`,
      );
      const refused = await newBrowser(app).get('/search?q=endless');
      assert.equal(refused.statusCode, 503, 'the public lane is full');

      assert.equal((await admin.get('/admin/audit?actor=someone')).statusCode, 200);
      assert.equal((await admin.get('/admin/audit')).statusCode, 200);
      const users = await admin.get(`/admin?q=${member.username}`);
      assert.equal(users.statusCode, 200);
      assert.match(users.body, new RegExp(member.username));
      assert.equal(scanning(), SCAN_CONCURRENCY, 'the flood still holds every public slot');

      // The flood's scans are called off; their requests are not awaited (see the report on issue 16:
      // a few of them were seen never to settle under app.inject once called off, not yet explained).
      stop.abort();
      void Promise.allSettled(flood);
    },
  );
}
