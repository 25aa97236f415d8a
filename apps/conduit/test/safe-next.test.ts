import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeNext } from 'bastion';
import { BACKENDS, newBrowser, registeredBrowser } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "redirects": after login, ?next= is followed only to a same-site path. Every value
// below is one a browser would read as another host (or as nothing of ours), whether as written
// or after the URL normalisation that turns "/..//x" into "//x".

const HOSTILE = [
  '//evil.example/',
  '///evil.example/',
  '/\\evil.example/',
  '/\\/evil.example/',
  '\\\\evil.example',
  '/..//evil.example/',
  '/../..//evil.example/',
  '/.//evil.example',
  '/./..//evil.example/',
  '/x/../..//evil.example/',
  '/%2e%2e//evil.example/',
  '/%2E%2E//evil.example/',
  '/.%2e//evil.example/',
  '/%2e.//evil.example',
  '/%2e%2e/%2e%2e//evil.example',
  '/a/%2e%2e/%2e%2e//evil.example',
  '/..\\evil.example',
  '/%2e%2e\\evil.example',
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r//evil.example',
  '/\u0000/evil.example',
  '/\u007f/evil.example',
  'https://evil.example/',
  'http:evil.example',
  'javascript:alert(1)',
  ' /x',
  'evil.example',
  '',
  `/${'a'.repeat(3000)}`,
];

test('safeNext sends every hostile next= value home', () => {
  for (const next of HOSTILE) {
    const target = safeNext(next);
    assert.ok(
      target === '/' || (target.startsWith('/') && !target.startsWith('//') && !target.includes('\\')),
      `${JSON.stringify(next)} → ${target}`,
    );
    assert.doesNotMatch(target, /evil\.example/, `${JSON.stringify(next)} → ${target}`);
  }
});

test('safeNext keeps ordinary paths on this site, normalised', () => {
  assert.equal(safeNext('/settings'), '/settings');
  assert.equal(safeNext('/article/a-b?page=2#comments'), '/article/a-b?page=2#comments');
  assert.equal(safeNext('/a/../settings'), '/settings');
  assert.equal(safeNext('/search?q=%2F%2Fevil'), '/search?q=%2F%2Fevil');
  assert.equal(safeNext(undefined), '/');
});

for (const backend of BACKENDS) {
  test(`[${backend}] a login with a hostile next= never answers a Location a browser reads as another host`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const owner = await registeredBrowser(app);
    await owner.post('/logout', {}, { from: '/settings' });
    for (const next of ['/..//evil.example/', '/%2e%2e//evil.example/', '/.%2e//evil.example/', '//evil.example/', '/\\evil.example/']) {
      const browser = newBrowser(app);
      const page = `/login?next=${encodeURIComponent(next)}`;
      const response = await browser.post(page, { email: owner.email, password: owner.password }, { from: page });
      assert.equal(response.statusCode, 303, next);
      assert.equal(response.headers.location, '/', `next=${next} → ${String(response.headers.location)}`);
    }
  });
}
