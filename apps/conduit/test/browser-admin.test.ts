import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { loadConfig } from 'bastion';
import { BACKENDS, PG_URL, randomKey, createAdmin } from 'bastion/testing';
import {
  ApiClient,
  nextClientIp,
  openSession,
  startListeningApp,
  strongPassword,
  useBrowser,
  type BrowserSession,
  type ListeningApp,
} from './helpers/chromium.js';

// The admin area in real Chromium, with JavaScript off and on: an admin made by create-admin
// signs in, finds a member with the search form, makes them a moderator with the row's select,
// locks and unlocks them, deletes their comment on the moderation page and filters the audit
// log down to those events. Every page is watched: a CSP violation, console error or page error
// fails the journey, so the pages need no inline script or style.

const browser = useBrowser();

/** The create-admin code path on the app's own database, as an operator would run it. */
async function makeAdmin(target: ListeningApp): Promise<{ username: string; email: string; password: string }> {
  const username = `root${randomBytes(3).toString('hex')}`;
  const admin = { username, email: `${username}@example.com`, password: strongPassword() };
  const schema = target.runtime.db.schema;
  const env: Record<string, string> = { NODE_ENV: 'test', SECRET_KEY: randomKey(), DATA_DIR: target.config.dataDir, LOG_LEVEL: 'silent' };
  if (schema) env.DATABASE_URL = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const made = await createAdmin(loadConfig({ env, dotenvPath: null }).config, admin, conduitMigrations);
  assert.ok(made.ok, `create-admin failed: ${JSON.stringify(made)}`);
  return admin;
}

/** Clicks a submit button and waits for the page the form leads to. */
async function submit(session: BrowserSession, page: Page, button: string, expect: (url: URL) => boolean): Promise<void> {
  await Promise.all([page.waitForURL(expect, { waitUntil: 'load' }), page.click(button)]);
  await session.settle(page);
}

for (const backend of BACKENDS) {
  for (const javaScriptEnabled of [false, true]) {
    test(`[${backend}] an admin runs users, moderation and the audit log in Chromium with JavaScript ${javaScriptEnabled ? 'on' : 'off'} and no CSP violation`, async (t) => {
      const target = await startListeningApp(t, backend);
      const api = new ApiClient(target.baseUrl);
      const admin = await makeAdmin(target);
      const suffix = randomBytes(3).toString('hex');
      const author = await api.register(`writer${suffix}`);
      const member = await api.register(`member${suffix}`);
      const article = (await api.ok(
        'POST',
        '/api/articles',
        { article: { title: `Admin journey ${suffix}`, description: 'd', body: 'b' } },
        author.token,
      )) as { article: { slug: string } };
      await api.ok(
        'POST',
        `/api/articles/${article.article.slug}/comments`,
        { comment: { body: `Spam from ${member.username}` } },
        member.token,
      );

      const session = await openSession(t, browser(), target, { javaScriptEnabled, clientIp: nextClientIp() });
      const page = await session.newPage();
      await session.visit(page, '/login');
      await page.fill('input[name=email]', admin.email);
      await page.fill('input[name=password]', admin.password);
      await submit(session, page, 'form.stack button[type=submit]', (url) => url.pathname === '/');

      // The nav link leads to the users page; the search form narrows it to the member.
      await submit(session, page, '.nav-links a[href="/admin"]', (url) => url.pathname === '/admin');
      await page.fill('input[name=q]', member.username);
      await submit(session, page, '.admin-filter button[type=submit]', (url) => url.searchParams.get('q') === member.username);
      const row = page.locator('tr[id^="user-"]');
      assert.equal(await row.count(), 1);
      assert.match(await row.innerText(), new RegExp(member.username));

      await page.selectOption(`tr[id^="user-"] select[name=role]`, 'moderator');
      await submit(session, page, 'tr[id^="user-"] .role-form button', (url) => url.searchParams.get('done') === 'role');
      assert.equal(url(page).searchParams.get('q'), member.username, 'back on the same filtered list');
      assert.equal(await page.locator('tr[id^="user-"] select[name=role]').inputValue(), 'moderator');
      await session.screenshot(page, `admin-users-js-${javaScriptEnabled ? 'on' : 'off'}`);

      await submit(session, page, 'tr[id^="user-"] form[action$="/lock"] button', (url) => url.searchParams.get('done') === 'lock');
      assert.equal(await page.locator('tr.locked').count(), 1);
      assert.equal((await api.request('GET', '/api/user', undefined, member.token)).status, 401, "the locked member's token is dead");
      await submit(session, page, 'tr[id^="user-"] form[action$="/unlock"] button', (url) => url.searchParams.get('done') === 'unlock');
      assert.equal(await page.locator('tr.locked').count(), 0);

      // Moderation: the comments tab, then the comment's delete button.
      await submit(session, page, '.admin-tabs a[href="/admin/content"]', (url) => url.pathname === '/admin/content');
      await submit(
        session,
        page,
        '.admin-subtabs a[href="/admin/content?show=comments"]',
        (url) => url.searchParams.get('show') === 'comments',
      );
      await session.screenshot(page, `admin-content-js-${javaScriptEnabled ? 'on' : 'off'}`);
      await submit(
        session,
        page,
        `tr:has-text("Spam from ${member.username}") button.danger`,
        (url) => url.searchParams.get('done') === 'comment',
      );
      assert.equal(await page.locator(`tr:has-text("Spam from ${member.username}")`).count(), 0);

      // The audit log, filtered to the role change.
      await submit(session, page, '.admin-tabs a[href="/admin/audit"]', (url) => url.pathname === '/admin/audit');
      await page.selectOption('select[name=event]', 'role.change');
      await submit(session, page, '.admin-filter button[type=submit]', (url) => url.searchParams.get('event') === 'role.change');
      const entries = page.locator('tr[id^="audit-"]');
      assert.equal(await entries.count(), 1);
      const text = await entries.innerText();
      assert.match(text, new RegExp(admin.username));
      assert.match(text, /member/);
      assert.match(text, /moderator/);
      await session.screenshot(page, `admin-audit-js-${javaScriptEnabled ? 'on' : 'off'}`);
      session.assertClean('the admin journey');
    });
  }
}

const url = (page: Page): URL => new URL(page.url());
