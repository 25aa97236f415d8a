import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { BACKENDS, newBrowser, SCAN_CONCURRENCY, scanning, scansInFlight, waitingForScan } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { writeArticle } from './helpers/conduit-fixtures.js';
import { endlessRunning, endlessScansFor, until } from './helpers/scan-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// A client that hangs up gives its place back at once: waiting, it leaves the scan queue; with
// its scan running, the scan is called off (SQLite: the reader thread drops the statement at its
// next row; PostgreSQL: the server cancels it) and its slot goes to the next search. Real
// connections that are really closed; the scans never end by themselves (their deadline is far
// away), so without the cancel the next search would wait for ever and this test would fail.

const titles = (html: string): string[] => [...html.matchAll(/class="preview-link"[^>]*>\s*<h2>([^<]*)<\/h2>/g)].map((m) => m[1]!);

for (const backend of BACKENDS) {
  test(
    `[${backend}] a client that hangs up leaves the scan queue, or has its running scan called off, and the next search is admitted`,
    { timeout: 120_000 },
    async (t) => {
      // Behind a proxy on loopback: each connection says which client it is for (X-Forwarded-For).
      const { app, runtime } = await startTestApp(t, backend, { TRUST_PROXY: '127.0.0.1' }, { scanTimeoutMs: 600_000 });
      const author = await createUser(runtime);
      await writeArticle(runtime, author.username, { title: 'Needle in a haystack' });
      const endless = endlessScansFor(t, runtime.db, 'endless');
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;

      /** An endless search from `client`, on a connection of its own; hangUp() closes that connection. */
      const search = (client: string) => {
        const request = http.get({
          host: '127.0.0.1',
          port,
          path: '/search?q=endless',
          agent: false,
          headers: { 'x-forwarded-for': client },
        });
        request.on('error', () => {}); // the hang-up is ours
        return { hangUp: () => request.destroy() };
      };

      const running = Array.from({ length: SCAN_CONCURRENCY }, (_, i) => search(`203.0.113.${i + 1}`));
      await until(
        () => scanning() === SCAN_CONCURRENCY && endless.started() === SCAN_CONCURRENCY,
        () => `the searches never filled the slots: ${scanning()} scanning`,
      );
      const waiting = search('203.0.113.99');
      await until(
        () => waitingForScan() === 1,
        () => 'the next search never queued',
      );

      waiting.hangUp();
      await until(
        () => waitingForScan() === 0,
        () => 'a client that hung up while waiting still holds its place in the queue',
      );
      await until(
        () => !scansInFlight.clients.has('203.0.113.99'),
        () => 'its count of scans in flight was never given back',
      );
      assert.equal(endless.started(), SCAN_CONCURRENCY, 'it never reached a scan');

      for (const client of running) client.hangUp();
      await until(
        () => scanning() === 0,
        () => `${scanning()} scans of clients that hung up still hold their slots`,
      );
      if (backend === 'postgres') {
        await until(
          async () => (await endlessRunning(runtime.db.kysely, endless.tag)) === 0,
          () => 'the server still runs the scans of clients that hung up',
        );
      }

      // The reader threads (or connections) are free again: the next search is answered.
      const next = await newBrowser(app).get('/search?q=needle');
      assert.equal(next.statusCode, 200);
      assert.deepEqual(titles(next.body), ['Needle in a haystack']);
    },
  );
}
