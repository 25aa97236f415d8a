import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { loadConfig } from 'bastion';
import { BACKENDS, confirmationTokenFor, PG_URL, randomKey, createAdmin } from 'bastion/testing';
import {
  nextClientIp,
  openSession,
  startListeningApp,
  strongPassword,
  useBrowser,
  type BrowserSession,
  type ListeningApp,
} from './helpers/chromium.js';

// The main user journeys of SPEC §2, in real Chromium, through the pages only (no API shortcut):
// a member registers, signs out and in, writes a Markdown article, comments; a second member
// favorites it and follows the author, then finds it in their following feed; the author edits
// and deletes it; an admin made by `create-admin` removes a member's comment. Every page visited
// is watched: a CSP violation, console error or page error anywhere fails the journey. The
// session cookie must exist, be HttpOnly, and stay invisible to `document.cookie`. The same
// forms are then used with JavaScript off.

const browser = useBrowser();

interface Member {
  readonly username: string;
  readonly email: string;
  readonly password: string;
}

const member = (prefix: string): Member => {
  const username = `${prefix}${randomBytes(3).toString('hex')}`;
  return { username, email: `${username}@example.com`, password: strongPassword() };
};

const sessionCookieName = (target: ListeningApp): string => (target.config.cookieSecure ? '__Host-session' : 'session');

/** Submits the form that `button` belongs to and waits for the page it leads to. */
async function submit(session: BrowserSession, page: Page, button: string, expectPath: (path: string) => boolean): Promise<void> {
  await Promise.all([page.waitForURL((url) => expectPath(url.pathname), { waitUntil: 'load' }), page.click(button)]);
  await session.settle(page);
}

/**
 * Signs up, reads the confirmation mail the app wrote to its outbox (the .eml SMTP would carry),
 * follows its link in this browser and presses Confirm there, and signs in: registration itself signs nobody in.
 * `shots` names screenshots of the "check your email", "confirm" and "confirmed" pages.
 */
async function register(target: ListeningApp, session: BrowserSession, page: Page, who: Member, shots?: string): Promise<void> {
  await session.visit(page, '/register');
  await page.fill('input[name=username]', who.username);
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/register/check-email');
  assert.equal(await page.locator('h1').textContent(), 'Check your email');
  assert.equal(await page.locator(`.nav-links a[href="/profile/${who.username}"]`).count(), 0, 'registering signs nobody in');
  if (shots) await session.screenshot(page, `${shots}-check-email`);
  const token = await confirmationTokenFor(target.app, who.email);
  await session.visit(page, `/email/confirm/${token}`);
  assert.equal(new URL(page.url()).pathname, '/email/confirm', 'the token left the address bar');
  assert.ok(!page.url().includes(token));
  if (shots) await session.screenshot(page, `${shots}-confirm`);
  await submit(session, page, 'form[action="/email/confirm"] button[type=submit]', (p) => p === '/email/confirmed');
  assert.equal(await page.locator('h1').textContent(), 'Email confirmed');
  if (shots) await session.screenshot(page, `${shots}-confirmed`);
  await login(session, page, who);
}

async function login(session: BrowserSession, page: Page, who: Pick<Member, 'email' | 'password' | 'username'>): Promise<void> {
  await session.visit(page, '/login');
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await submit(session, page, 'form.stack button[type=submit]', (p) => p !== '/login');
  assert.equal(await page.locator(`.nav-links a[href="/profile/${who.username}"]`).count(), 1, `${who.username} is signed in`);
}

async function logout(session: BrowserSession, page: Page): Promise<void> {
  await submit(session, page, 'form[action="/logout"] button[type=submit]', (p) => p === '/');
  assert.equal(await page.locator('.nav-links a[href="/login"]').count(), 1, 'the Sign in link is back after signing out');
  assert.equal(await sessionCookie(session), undefined, 'the session cookie is gone after signing out');
}

async function sessionCookie(session: BrowserSession) {
  const name = sessionCookieName(session.target);
  return (await session.context.cookies(session.target.baseUrl)).find((c) => c.name === name);
}

/** The session cookie is in the browser's jar, HttpOnly, and script on the page cannot read it. */
async function assertCookieHidden(session: BrowserSession, page: Page): Promise<void> {
  const cookie = await sessionCookie(session);
  assert.ok(cookie, 'the browser holds a session cookie');
  assert.equal(cookie.httpOnly, true, 'the session cookie is HttpOnly');
  assert.equal(cookie.sameSite, 'Lax');
  if (!session.javaScriptEnabled) return;
  const visible = await page.evaluate(() => document.cookie);
  assert.ok(!visible.includes(`${cookie.name}=`), `document.cookie shows the session cookie: ${visible}`);
  assert.ok(
    !visible.includes(cookie.value) && !visible.includes(decodeURIComponent(cookie.value)),
    'document.cookie leaks the session value',
  );
}

/** An admin account made the way an operator makes one: the create-admin code path on the app's database. */
async function makeAdmin(target: ListeningApp): Promise<Member> {
  const admin = member('admin');
  const schema = target.runtime.db.schema;
  const env: Record<string, string> = { NODE_ENV: 'test', SECRET_KEY: randomKey(), DATA_DIR: target.config.dataDir, LOG_LEVEL: 'silent' };
  if (schema) env.DATABASE_URL = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const { config } = loadConfig({ env, dotenvPath: null });
  const made = await createAdmin(config, admin, conduitMigrations);
  assert.ok(made.ok, `create-admin failed: ${JSON.stringify(made)}`);
  return admin;
}

const MARKDOWN = [
  '# Why journeys matter',
  '',
  'A test that clicks through **every page** finds what unit tests *miss*.',
  '',
  '- register and sign in',
  '- write, comment, favorite',
  '',
  'Read [the spec](https://example.com/spec) and run `npm test`.',
  '',
  '```',
  'const ok = true;',
  '```',
].join('\n');

for (const backend of BACKENDS) {
  test(`[${backend}] the member journeys work end to end in Chromium with zero CSP violations or console errors and an unreadable session cookie`, async (t) => {
    const target = await startListeningApp(t, backend);
    const alice = member('alice');
    const bob = member('bob');
    const title = `Journeys in a real browser ${randomBytes(2).toString('hex')}`;
    let articlePath = '';

    const aliceSession = await openSession(t, browser(), target, { clientIp: nextClientIp() });
    const alicePage = await aliceSession.newPage();
    const bobSession = await openSession(t, browser(), target, { clientIp: nextClientIp() });
    const bobPage = await bobSession.newPage();

    await t.test('an anonymous visitor sees the home, login, register and search pages', async () => {
      const visitor = await openSession(t, browser(), target, { clientIp: nextClientIp() });
      const page = await visitor.newPage();
      await visitor.visit(page, '/');
      await visitor.visit(page, '/register');
      await visitor.visit(page, '/search?q=nothing+here+yet');
      assert.match((await page.locator('.result-count').textContent()) ?? '', /^0 articles match/);
      await visitor.visit(page, '/login');
      await visitor.screenshot(page, 'journey-login');
      assert.equal(await sessionCookie(visitor), undefined, 'no session before signing in');
      visitor.assertClean('pages seen by an anonymous visitor');
    });

    await t.test('a member registers, signs out and signs in again, with a fresh HttpOnly session cookie each time', async () => {
      await register(target, aliceSession, alicePage, alice, 'confirm');
      await assertCookieHidden(aliceSession, alicePage);
      const first = (await sessionCookie(aliceSession))!.value;
      await logout(aliceSession, alicePage);
      await login(aliceSession, alicePage, alice);
      await assertCookieHidden(aliceSession, alicePage);
      assert.notEqual((await sessionCookie(aliceSession))!.value, first, 'signing in issues a new session id');
      aliceSession.assertClean('register, sign out, sign in');
    });

    await t.test('the member writes a Markdown article and sees it rendered, then comments on it', async () => {
      await aliceSession.visit(alicePage, '/editor');
      await alicePage.fill('input[name=title]', title);
      await alicePage.fill('input[name=description]', 'What clicking through the pages proves');
      await alicePage.fill('textarea[name=body]', MARKDOWN);
      await alicePage.fill('input[name=tagList]', 'journeys, browsers');
      await aliceSession.screenshot(alicePage, 'journey-editor');
      await submit(aliceSession, alicePage, 'form.stack button[type=submit]', (p) => p.startsWith('/article/'));
      articlePath = new URL(alicePage.url()).pathname;

      assert.equal(await alicePage.locator('.article-banner h1').textContent(), title);
      const md = alicePage.locator('.markdown');
      assert.equal(await md.locator('h1').textContent(), 'Why journeys matter');
      assert.equal(await md.locator('strong').textContent(), 'every page');
      assert.equal(await md.locator('em').textContent(), 'miss');
      assert.equal(await md.locator('ul > li').count(), 2);
      assert.equal(await md.locator('pre code').textContent(), 'const ok = true;\n');
      const link = md.locator('a[href="https://example.com/spec"]');
      assert.equal(await link.textContent(), 'the spec');
      assert.match((await link.getAttribute('rel')) ?? '', /nofollow/);
      assert.deepEqual(await alicePage.locator('.article-body .tag-list .tag').allTextContents(), ['browsers', 'journeys']);

      await alicePage.fill('#comment-body', 'First comment, from the author.');
      await submit(aliceSession, alicePage, 'form.comment-form button[type=submit]', (p) => p === articlePath);
      assert.deepEqual(await alicePage.locator('.comment-text').allTextContents(), ['First comment, from the author.']);
      await aliceSession.screenshot(alicePage, 'journey-article');
      await assertCookieHidden(aliceSession, alicePage);
      aliceSession.assertClean('writing and commenting');
    });

    await t.test('a second member favorites the article, follows the author, finds it in the following feed and comments', async () => {
      await register(target, bobSession, bobPage, bob);
      await bobSession.visit(bobPage, '/?feed=following');
      assert.equal(await bobPage.locator('.preview').count(), 0, 'the following feed starts empty');

      await bobSession.visit(bobPage, articlePath);
      await submit(bobSession, bobPage, '.article-meta form[action$="/favorite"] button', (p) => p === articlePath);
      const favorite = bobPage.locator('.article-meta button.favorite');
      assert.equal(await favorite.getAttribute('aria-pressed'), 'true');
      assert.equal(await favorite.locator('.count').textContent(), '1');

      await submit(bobSession, bobPage, `.article-meta form[action="/profile/${alice.username}/follow"] button`, (p) => p === articlePath);
      assert.equal((await bobPage.locator('.article-meta button.follow').textContent())?.trim(), `Unfollow ${alice.username}`);

      await bobPage.fill('#comment-body', 'A reader was here.');
      await submit(bobSession, bobPage, 'form.comment-form button[type=submit]', (p) => p === articlePath);
      assert.equal(await bobPage.locator('.comment-text').count(), 2);
      // A member sees a Delete button on their own comment only.
      assert.equal(await bobPage.locator('.comment .comment-delete').count(), 1);

      await bobSession.visit(bobPage, '/?feed=following');
      assert.deepEqual(await bobPage.locator('.preview h2').allTextContents(), [title]);
      await bobSession.screenshot(bobPage, 'journey-home');

      await bobSession.visit(bobPage, `/profile/${bob.username}?tab=favorites`);
      assert.deepEqual(await bobPage.locator('.preview h2').allTextContents(), [title]);
      await bobSession.visit(bobPage, `/profile/${alice.username}`);
      assert.deepEqual(await bobPage.locator('.preview h2').allTextContents(), [title]);
      await bobSession.screenshot(bobPage, 'journey-profile');

      await bobSession.visit(bobPage, `/search?q=${encodeURIComponent('journeys browser')}`);
      assert.deepEqual(await bobPage.locator('.preview h2').allTextContents(), [title]);
      await bobSession.screenshot(bobPage, 'journey-search');

      await bobSession.visit(bobPage, '/settings');
      await bobSession.screenshot(bobPage, 'journey-settings');
      await assertCookieHidden(bobSession, bobPage);
      bobSession.assertClean('favorite, follow, following feed, profile, search, settings');
    });

    await t.test('an admin made by create-admin deletes a member comment from the article page', async () => {
      const admin = await makeAdmin(target);
      const adminSession = await openSession(t, browser(), target, { clientIp: nextClientIp() });
      const page = await adminSession.newPage();
      await login(adminSession, page, admin);
      await adminSession.visit(page, articlePath);
      const bobComment = page.locator('.comment', { hasText: 'A reader was here.' });
      await submit(adminSession, page, '.comment:has-text("A reader was here.") .comment-delete button', (p) => p === articlePath);
      assert.equal(await bobComment.count(), 0, "the member's comment is gone");
      assert.deepEqual(await page.locator('.comment-text').allTextContents(), ['First comment, from the author.']);
      const audit = await target.runtime.db.kysely
        .selectFrom('audit_log')
        .select(['actor_name', 'details'])
        .where('event', '=', 'content.moderate')
        .execute();
      assert.equal(audit.length, 1, 'the moderation is in the audit log');
      assert.equal(audit[0]!.actor_name, admin.username);
      await assertCookieHidden(adminSession, page);
      adminSession.assertClean('an admin moderating a comment');
    });

    await t.test('the author edits the article, then deletes it, and signs out', async () => {
      await aliceSession.visit(alicePage, articlePath);
      await submit(aliceSession, alicePage, `a[href="/editor${articlePath.slice('/article'.length)}"]`, (p) => p.startsWith('/editor/'));
      assert.equal(await alicePage.inputValue('input[name=title]'), title);
      assert.equal(await alicePage.inputValue('textarea[name=body]'), MARKDOWN);
      await alicePage.fill('input[name=title]', `${title} (revised)`);
      await alicePage.fill('textarea[name=body]', `${MARKDOWN}\n\n> Revised after review.`);
      await submit(aliceSession, alicePage, 'form.stack button[type=submit]', (p) => p === articlePath);
      assert.equal(await alicePage.locator('.article-banner h1').textContent(), `${title} (revised)`);
      assert.equal((await alicePage.locator('.markdown blockquote').textContent())?.trim(), 'Revised after review.');

      await submit(aliceSession, alicePage, '.article-meta form[action$="/delete"] button', (p) => p === '/');
      assert.equal(await alicePage.locator('.preview').count(), 0, 'the feed no longer lists the article');
      const gone = await aliceSession.context.request.get(target.baseUrl + articlePath);
      assert.equal(gone.status(), 404, 'the article page is gone');
      await bobSession.visit(bobPage, '/?feed=following');
      assert.equal(await bobPage.locator('.preview').count(), 0, "the follower's feed no longer lists it");

      await logout(aliceSession, alicePage);
      aliceSession.assertClean('editing, deleting, signing out');
      bobSession.assertClean('the follower after the deletion');
    });
  });

  test(`[${backend}] with JavaScript off a visitor registers, signs out, signs in and posts a comment through plain forms`, async (t) => {
    const target = await startListeningApp(t, backend);
    const carol = member('carol');
    const dave = member('dave');
    const session = await openSession(t, browser(), target, { clientIp: nextClientIp(), javaScriptEnabled: false });
    const page = await session.newPage();
    await register(target, session, page, carol);
    await assertCookieHidden(session, page);
    await logout(session, page);
    await login(session, page, carol);

    await session.visit(page, '/editor');
    await page.fill('input[name=title]', 'Written without JavaScript');
    await page.fill('input[name=description]', 'Forms are enough');
    await page.fill('textarea[name=body]', 'Plain *HTML* forms.');
    await submit(session, page, 'form.stack button[type=submit]', (p) => p.startsWith('/article/'));
    const articlePath = new URL(page.url()).pathname;
    assert.equal(await page.locator('.markdown em').textContent(), 'HTML');
    await page.fill('#comment-body', 'Commented with scripts disabled.');
    await submit(session, page, 'form.comment-form button[type=submit]', (p) => p === articlePath);
    assert.deepEqual(await page.locator('.comment-text').allTextContents(), ['Commented with scripts disabled.']);
    await logout(session, page);

    // A second visitor, also without JavaScript, signs up and comments on the first one's article.
    const other = await openSession(t, browser(), target, { clientIp: nextClientIp(), javaScriptEnabled: false });
    const otherPage = await other.newPage();
    await register(target, other, otherPage, dave);
    await other.visit(otherPage, articlePath);
    await otherPage.fill('#comment-body', 'Me too, no scripts.');
    await submit(other, otherPage, 'form.comment-form button[type=submit]', (p) => p === articlePath);
    assert.equal(await otherPage.locator('.comment-text').count(), 2);
    await other.screenshot(otherPage, 'journey-nojs-article');
    session.assertClean('forms with JavaScript off');
    other.assertClean('forms with JavaScript off');
  });
}
