import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { BACKENDS, confirmationTokenFor, outboxMailsTo } from 'bastion/testing';
import {
  ApiClient,
  nextClientIp,
  openSession,
  startListeningApp,
  strongPassword,
  useBrowser,
  type BrowserSession,
} from './helpers/chromium.js';

// Email confirmation in real Chromium, with JavaScript on and every page watched (CSP, console):
// an account that has not confirmed signs in, sees why it cannot publish (the draft kept), asks
// for a new link from /settings, follows it from the mail (a page with a Confirm button: opening
// the link changes nothing), and publishes. Screenshots of each
// new page at desktop and phone width.

const browser = useBrowser();

async function submit(session: BrowserSession, page: Page, button: string, expectPath: (path: string) => boolean): Promise<void> {
  await Promise.all([page.waitForURL((url) => expectPath(url.pathname), { waitUntil: 'load' }), page.click(button)]);
  await session.settle(page);
}

for (const backend of BACKENDS) {
  test(`[${backend}] an unconfirmed member signs in, is told why publishing waits, sends a new link from settings, opens it, presses Confirm and publishes`, async (t) => {
    const target = await startListeningApp(t, backend);
    const session = await openSession(t, browser(), target, { clientIp: nextClientIp() });
    const page = await session.newPage();
    const username = `conf${randomBytes(3).toString('hex')}`;
    const email = `${username}@example.com`;
    const password = strongPassword();

    await session.visit(page, '/register');
    await page.fill('input[name=username]', username);
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', password);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/register/check-email');
    // The account is made just after the answer (packages/bastion/src/accounts/sign-up.ts); a person takes longer.
    await target.app.signUps.settled();

    await session.visit(page, '/login');
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', password);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/');
    assert.equal(await page.locator(`.nav-links a[href="/profile/${username}"]`).count(), 1, 'an unconfirmed account signs in');

    await session.visit(page, '/editor');
    assert.match((await page.locator('.notice').textContent()) ?? '', /Confirm your email address to publish/);
    await session.screenshot(page, 'confirm-editor-unconfirmed');
    await page.fill('input[name=title]', 'Waiting for my link');
    await page.fill('input[name=description]', 'a draft');
    await page.fill('textarea[name=body]', 'Kept while I confirm.');
    // The refusal is a 403 page: the browser stays on /editor with the draft.
    await Promise.all([page.waitForLoadState('load'), page.click('form.stack button[type=submit]')]);
    await session.settle(page);
    assert.match((await page.locator('.errors').textContent()) ?? '', /must be confirmed before you can write/);
    assert.equal(await page.locator('textarea[name=body]').inputValue(), 'Kept while I confirm.');
    await session.screenshot(page, 'confirm-editor-refused');

    await session.visit(page, '/settings');
    assert.match((await page.locator('.notice').first().textContent()) ?? '', /not confirmed yet/);
    await session.screenshot(page, 'confirm-settings-unconfirmed');
    await submit(session, page, 'form[action="/email/confirm/resend"] button[type=submit]', (p) => p === '/settings');
    assert.match((await page.locator('.notice').first().textContent()) ?? '', /We sent a new confirmation link/);
    assert.equal((await outboxMailsTo(target.app, email)).length, 2, 'the sign-up mail and the new one');

    await session.visit(page, '/email/confirm/not-a-real-token-at-all');
    assert.equal(new URL(page.url()).pathname, '/email/confirm');
    assert.match((await page.locator('.errors').textContent()) ?? '', /This link is not valid/);
    assert.equal(await page.locator('form[action="/email/confirm"]').count(), 0, 'a dead link offers no button');
    await session.screenshot(page, 'confirm-link-invalid');

    // Opening the link changes nothing: the page says what the button would confirm.
    const token = await confirmationTokenFor(target.app, email);
    await session.visit(page, `/email/confirm/${token}`);
    assert.equal(new URL(page.url()).pathname, '/email/confirm', 'the token left the address bar');
    assert.ok(!page.url().includes(token));
    assert.equal(await page.locator('h1').textContent(), 'Confirm your email address');
    assert.equal((await page.locator('form[action="/email/confirm"] button').textContent())?.trim(), `Confirm ${email}`);
    const row = () =>
      target.runtime.db.kysely.selectFrom('users').select('email_confirmed_at').where('username', '=', username).executeTakeFirstOrThrow();
    assert.equal((await row()).email_confirmed_at, null, 'opening the link confirmed nothing');
    await session.screenshot(page, 'confirm-page');
    await submit(session, page, 'form[action="/email/confirm"] button[type=submit]', (p) => p === '/email/confirmed');
    assert.equal(await page.locator('h1').textContent(), 'Email confirmed');
    assert.ok((await row()).email_confirmed_at);

    await session.visit(page, '/editor');
    assert.equal(await page.locator('.notice').count(), 0);
    await page.fill('input[name=title]', 'Confirmed and published');
    await page.fill('input[name=description]', 'after the link');
    await page.fill('textarea[name=body]', 'Now *it* goes out.');
    await submit(session, page, 'form.stack button[type=submit]', (p) => p.startsWith('/article/'));
    assert.equal(await page.locator('.markdown em').textContent(), 'it');
    // The refusal this journey provokes is Chromium's console line for a 4xx document (403 from
    // the editor); anything else is a problem.
    const expected = (p: { kind: string; detail: string; url: string }) =>
      p.kind === 'console' && /status of 403/.test(p.detail) && p.url.endsWith('/editor');
    const problems = session.fresh();
    assert.equal(problems.filter(expected).length, 1);
    assert.deepEqual(
      problems.filter((p) => !expected(p)),
      [],
      'no CSP violation, console or page error',
    );
    // Accounted for above: the session's own check at close judges whatever comes after.
    session.problems.splice(0, session.problems.length);
  });

  test(`[${backend}] a member changes their email: settings shows the change waiting, Cancel kills its link, and a second change is confirmed from the page its link opens`, async (t) => {
    const target = await startListeningApp(t, backend);
    const member = await new ApiClient(target.baseUrl).register(`chg${randomBytes(3).toString('hex')}`);
    const session = await openSession(t, browser(), target, { clientIp: nextClientIp() });
    const page = await session.newPage();
    await session.visit(page, '/login');
    await page.fill('input[name=email]', member.email);
    await page.fill('input[name=password]', member.password);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/');

    const changeTo = async (email: string) => {
      await session.visit(page, '/settings');
      await page.fill('input[name=email]', email);
      await page.fill('form[action="/settings"] input[name=currentPassword]', member.password);
      await submit(session, page, 'form[action="/settings"] button[type=submit]', (p) => p === '/settings');
    };
    const mistyped = `mistyped-${member.email}`;
    await changeTo(mistyped);
    const pending = (await page.locator('.pending-email').textContent()) ?? '';
    assert.match(pending, new RegExp(`a link was sent to ${mistyped}\\. Your address stays ${member.email} until it is followed`));
    await session.screenshot(page, 'settings-email-pending');
    await submit(session, page, 'form[action="/settings/email/cancel"] button[type=submit]', (p) => p === '/settings');
    assert.match((await page.locator('.notice').first().textContent()) ?? '', /The email change was cancelled/);
    assert.equal(await page.locator('.pending-email').count(), 0);
    await session.visit(page, `/email/confirm/${await confirmationTokenFor(target.app, mistyped)}`);
    assert.match((await page.locator('.errors').textContent()) ?? '', /This link is not valid/, 'the cancelled link is dead');

    const wanted = `wanted-${member.email}`;
    await changeTo(wanted);
    const token = await confirmationTokenFor(target.app, wanted);
    await session.visit(page, `/email/confirm/${token}`);
    assert.equal(new URL(page.url()).pathname, '/email/confirm');
    assert.equal(await page.locator('h1').textContent(), 'Confirm your new email address');
    assert.match((await page.locator('.auth-page p').first().textContent()) ?? '', new RegExp(`make ${wanted} the email address`));
    await session.screenshot(page, 'confirm-email-change');
    await submit(session, page, 'form[action="/email/confirm"] button[type=submit]', (p) => p === '/email/confirmed');
    assert.equal(await page.locator('h1').textContent(), 'Email changed');
    await session.visit(page, '/settings');
    assert.equal(await page.locator('input[name=email]').inputValue(), wanted);
    assert.equal(await page.locator('.pending-email').count(), 0);
    session.assertClean('the email change journey');
  });
}
