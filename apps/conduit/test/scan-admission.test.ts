import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Db } from 'bastion';
import {
  BACKENDS,
  newBrowser,
  registeredBrowser,
  SCAN_CONCURRENCY,
  SCAN_QUEUE_LIMIT,
  SCANS_PER_CLIENT,
  waitingForScan,
} from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { setRole, writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// A search for a word no index can look up reads every article, and an admin's filter the whole
// audit log, so such reads are worked on a few at a time with a bounded queue, and one client
// may have only a few in flight (packages/bastion/src/security/scan-admission.ts): a crowd searching at once
// cannot take every reader thread or the pool from the other pages, and one client cannot fill
// the queue alone. Counted, not timed: how many scans run at once, and what the request beyond
// a full queue, or beyond a client's share, gets.

const titles = (html: string): string[] => [...html.matchAll(/class="preview-link"[^>]*>\s*<h2>([^<]*)<\/h2>/g)].map((m) => m[1]!);

/** Replaces the app's scans with `wrap(original)`; put back when the test ends. */
function wrapScans(t: { after(fn: () => void): void }, db: Db, wrap: (scan: Db['scan']) => Db['scan']): void {
  const original = db.scan;
  db.scan = wrap(original.bind(db));
  t.after(() => (db.scan = original));
}

/** Holds every public scan of the app until released (also when the test ends: held requests would keep it open), counting them. */
function holdScans(t: TestContext, db: Db): { started: () => number; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  t.after(() => release());
  let started = 0;
  wrapScans(t, db, (scan) => async (query, options) => {
    if (options?.lane === 'admin') return scan(query, options);
    started++;
    await gate;
    return scan(query, options);
  });
  return { started: () => started, release: () => release() };
}

/** Waits a turn of the event loop at a time until `done()`; fails saying `what()` after 10 s. */
async function until(done: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    assert.ok(Date.now() < deadline, what());
    await new Promise((resolve) => setImmediate(resolve));
  }
}

for (const backend of BACKENDS) {
  test(`[${backend}] a burst of searches scans at most ${SCAN_CONCURRENCY} at a time, and every search is answered`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await createUser(runtime);
    await writeArticle(runtime, author.username, { title: 'Go west', body: 'by ox cart' });
    await writeArticle(runtime, author.username, { title: 'Stay home', body: 'no wagon' });
    let active = 0;
    let peak = 0;
    let queued = 0;
    wrapScans(t, runtime.db, (scan) => async (query, options) => {
      active++;
      peak = Math.max(peak, active);
      queued = Math.max(queued, waitingForScan());
      try {
        return await scan(query, options);
      } finally {
        active--;
      }
    });
    // Each from its own address: one client's own searches are held to SCANS_PER_CLIENT (below).
    const burst = await Promise.all(
      Array.from({ length: SCAN_CONCURRENCY * 6 }, (_, i) => newBrowser(app).get(`/search?q=${i % 2 === 0 ? 'ox' : 'o'}`)),
    );
    assert.deepEqual(
      burst.map((r) => r.statusCode),
      burst.map(() => 200),
    );
    assert.deepEqual(titles(burst[0]!.body), ['Go west']);
    assert.deepEqual(titles(burst[1]!.body), ['Stay home', 'Go west']);
    assert.ok(peak <= SCAN_CONCURRENCY, `at most ${SCAN_CONCURRENCY} scans at once, saw ${peak}`);
    assert.ok(queued > 0, 'the searches did arrive together (some waited)');
  });

  test(`[${backend}] with ${SCAN_QUEUE_LIMIT} searches waiting, one more search gets 503 with Retry-After, and every other page still answers`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await createUser(runtime);
    await writeArticle(runtime, author.username, { title: 'Needle in a haystack' });
    const scans = holdScans(t, runtime.db);
    const visitor = newBrowser(app);
    const held = Array.from({ length: SCAN_CONCURRENCY + SCAN_QUEUE_LIMIT }, () => newBrowser(app).get('/search?q=needle'));
    // Every one of them admitted or queued before anything else arrives.
    await until(
      () => scans.started() >= SCAN_CONCURRENCY && waitingForScan() >= SCAN_QUEUE_LIMIT,
      () => `the held searches never filled the queue: ${scans.started()} scanning, ${waitingForScan()} waiting`,
    );

    const refused = await visitor.get('/search?q=needle');
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '5');
    assert.doesNotMatch(refused.body, /needle in a haystack/i, 'a refused search reads nothing');
    assert.equal(scans.started(), SCAN_CONCURRENCY, 'the refused search never reached a scan');
    for (const url of ['/', '/api/articles', '/api/tags', `/profile/${author.username}`]) {
      assert.equal((await visitor.get(url)).statusCode, 200, `${url} still answers`);
    }
    // (The admin's listings wait in a queue of their own: apps/conduit/test/admin-queue.test.ts.)
    const admin = await registeredBrowser(app);
    await setRole(runtime, admin.username, 'admin');

    scans.release();
    const answers = await Promise.all(held);
    assert.deepEqual(
      answers.map((r) => r.statusCode),
      answers.map(() => 200),
    );
    assert.deepEqual(titles(answers.at(-1)!.body), ['Needle in a haystack']);
    assert.deepEqual(titles((await visitor.get('/search?q=needle')).body), ['Needle in a haystack'], 'searches are admitted again');
    const audit = await admin.get(`/admin/audit?actor=${admin.username}`);
    assert.equal(audit.statusCode, 200);
    assert.match(audit.body, new RegExp(admin.username));
    assert.equal((await admin.get(`/admin?q=${author.username}`)).statusCode, 200);
  });

  test(`[${backend}] one client's scanning requests beyond ${SCANS_PER_CLIENT} at once get 429 with Retry-After, audited once, while other clients' are admitted`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await createUser(runtime);
    await writeArticle(runtime, author.username, { title: 'Needle in a haystack' });
    const scans = holdScans(t, runtime.db);
    const greedy = newBrowser(app);
    const mine = Array.from({ length: SCANS_PER_CLIENT }, () => greedy.get('/search?q=needle'));
    await until(
      () => scans.started() + waitingForScan() >= SCANS_PER_CLIENT,
      () => 'the held searches never arrived',
    );
    for (let i = 0; i < 3; i++) {
      const refused = await greedy.get('/search?q=needle');
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.headers['retry-after'], '1');
    }
    const other = newBrowser(app).get('/search?q=needle');
    await until(
      () => scans.started() + waitingForScan() >= SCANS_PER_CLIENT + 1,
      () => "another client's search is never admitted",
    );
    scans.release();
    for (const answer of [...(await Promise.all(mine)), await other]) {
      assert.equal(answer.statusCode, 200);
      assert.deepEqual(titles(answer.body), ['Needle in a haystack']);
    }
    assert.equal((await greedy.get('/search?q=needle')).statusCode, 200, 'once its searches are answered, the client may search again');
    const audited = await runtime.db.kysely.selectFrom('audit_log').select('details').where('event', '=', 'ratelimit.hit').execute();
    assert.equal(audited.length, 1, 'three refusals, one audit entry');
    assert.match(audited[0]!.details, /"limit":"scans"/);
  });

  test(`[${backend}] an IPv6 client spreading its scanning requests over its /64 gets 429 past ${SCANS_PER_CLIENT} at once`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const scans = holdScans(t, runtime.db);
    const search = (remoteAddress: string) => app.inject({ url: '/search?q=needle', remoteAddress });
    const held = Array.from({ length: SCANS_PER_CLIENT }, (_, i) => search(`2001:db8:44:1::${i + 1}`));
    await until(
      () => scans.started() + waitingForScan() >= SCANS_PER_CLIENT,
      () => 'the held searches never arrived',
    );
    const refused = await search('2001:db8:44:1:ffff::9');
    assert.equal(refused.statusCode, 429, 'a new address in the same /64 is the same client');
    const neighbour = search('2001:db8:44:2::1');
    await until(
      () => scans.started() + waitingForScan() >= SCANS_PER_CLIENT + 1,
      () => "the next network's search is never admitted",
    );
    scans.release();
    for (const answer of [...(await Promise.all(held)), await neighbour]) assert.equal(answer.statusCode, 200);
  });
}
