import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PAGE } from 'bastion';
import { BACKENDS, memberBrowser, recordMailFailure } from 'bastion/testing';
import { setRole } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// /admin/mail pages through every kept mail failure, newest first, ten a page, with ?page= a
// whole number within the admin lists' bound (anything else a 4xx), instead of only the newest few.

const rowsOf = (html: string): string[] =>
  [...html.matchAll(/<tr id="mail-failure-\d+">[\s\S]*?<td data-label="Recipient">([^<]*)<\/td>/g)].map((m) => m[1]!);

for (const backend of BACKENDS) {
  test(`[${backend}] /admin/mail shows every kept failure a page at a time, newest first, and refuses a page number that is not a whole number in bounds`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await memberBrowser(app, runtime);
    await setRole(runtime, admin.username, 'admin');
    const start = Date.parse('2026-11-01T00:00:00Z');
    for (let i = 0; i < 25; i++) {
      await recordMailFailure(
        runtime.db,
        {
          mailId: `m${i}`,
          template: 'password-reset',
          recipient: `u${i}@example.com`,
          attempts: 6,
          reason: 'retries-exhausted',
          error: 'ECONNREFUSED',
        },
        { now: new Date(start + i * 60_000) },
      );
    }
    const first = await admin.get('/admin/mail');
    assert.equal(first.statusCode, 200);
    assert.match(first.body, /25 mails that could not be sent, newest first/);
    assert.deepEqual(
      rowsOf(first.body),
      Array.from({ length: 10 }, (_, i) => `u${24 - i}@example.com`),
    );
    assert.match(first.body, /<a href="\/admin\/mail\?page=2" rel="next">/);
    const second = await admin.get('/admin/mail?page=2&utm_source=mail');
    assert.deepEqual(
      rowsOf(second.body),
      Array.from({ length: 10 }, (_, i) => `u${14 - i}@example.com`),
      'an unknown parameter is ignored',
    );
    assert.match(second.body, /<a href="\/admin\/mail" rel="prev">/);
    const last = await admin.get('/admin/mail?page=3');
    assert.deepEqual(
      rowsOf(last.body),
      ['u4@example.com', 'u3@example.com', 'u2@example.com', 'u1@example.com', 'u0@example.com'],
      'the oldest is reachable',
    );
    assert.doesNotMatch(last.body, /rel="next"/);
    const beyond = await admin.get(`/admin/mail?page=${MAX_PAGE}`);
    assert.equal(beyond.statusCode, 200);
    assert.match(beyond.body, /No mail on this page\./);

    for (const page of ['0', '-1', '1.5', 'abc', '1e3', 'Infinity', 'NaN', String(MAX_PAGE + 1), '9'.repeat(400), '%00']) {
      const res = await admin.get(`/admin/mail?page=${page}`);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `page=${page}: ${res.statusCode}`);
    }
    const member = await memberBrowser(app, runtime);
    assert.equal((await member.get('/admin/mail?page=2')).statusCode, 403, 'members are refused every page');
  });
}
