import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// /static/ serves public/ and nothing else: no file outside it, no dotfile, no directory
// listing, and no second spelling of a path (which a more specific route or rule keyed on the
// canonical URL would not see). Every refusal is a clean 4xx page. Static files touch no
// storage, so one backend is enough.

const OUTSIDE = ['package.json', '.npmrc', 'src/bastion.ts'];
const HOSTILE = [
  ...OUTSIDE.flatMap((file) => [
    `/static/../${file}`,
    `/static/%2e%2e/${file}`,
    `/static/%2E%2E%2F${file}`,
    `/static/..%2f${file}`,
    `/static/%5c..%5c${file}`,
    `/static/..%5c${file}`,
    `/static/style.css/../../${file}`,
  ]),
  '/static/.env',
  '/static/.git/config',
  '/static/%2eenv',
  '/static/',
  '/static//style.css',
  '/static/style.css%00',
  '/static/style.css%00.png',
];

test('a file under public/ is served with its type and a cache lifetime', async (t) => {
  const h = await startTestApp(t, BACKENDS[0]!);
  const res = await h.app.inject({ url: '/static/style.css' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/css/);
  assert.match(String(res.headers['cache-control']), /max-age=3600/);
});

test('paths out of public/, dotfiles, listings and double slashes get a 4xx page, never a file', async (t) => {
  const h = await startTestApp(t, BACKENDS[0]!);
  for (const url of HOSTILE) {
    const res = await h.app.inject({ url });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${url} answered ${res.statusCode}`);
    assert.doesNotMatch(res.body, /"name": "bastion"|engine-strict|buildApp/, `${url} leaked a file`);
    assert.doesNotMatch(String(res.headers['content-type']), /css|javascript|json|octet-stream/, url);
  }
  assert.doesNotMatch(h.logs(), /"level":50/, 'no refusal was logged as a server error');
});
