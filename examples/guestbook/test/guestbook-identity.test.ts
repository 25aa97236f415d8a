import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BACKENDS,
  confirmationTokenFor,
  confirmByLink,
  createUser,
  loggedInBrowser,
  newBrowser,
  outboxMailsTo,
  type TestUser,
} from 'bastion/testing';
import type { Role } from 'bastion';
import { startGuestbook, type TestGuestbook } from './start-guestbook.js';

const makeUser = (gb: TestGuestbook, username: string, role: Role = 'member'): Promise<TestUser> =>
  createUser(gb.runtime, { username, role });

// The guestbook is not Conduit: Bastion's account layer speaks in the app's name (its `site`),
// shows only the admin tabs the app has, and knows only the roles, audit events and write limits
// the app handed it. Each check below would pass on any other app's data and fail on Conduit's.

for (const backend of BACKENDS) {
  test(`[${backend}] every account mail the guestbook sends is in its name, never Conduit's`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const visitor = newBrowser(gb.app, { username: 'gina' });
    const registered = await visitor.post(
      '/register',
      { username: visitor.username, email: visitor.email, password: visitor.password },
      { from: '/register' },
    );
    assert.equal(registered.statusCode, 303);
    await confirmByLink(visitor, await confirmationTokenFor(gb.app, visitor.email));
    // The same address again (address-taken), then a forgotten password (reset link).
    const again = newBrowser(gb.app, { username: 'gina2' });
    await again.post('/register', { username: again.username, email: visitor.email, password: again.password }, { from: '/register' });
    await again.post('/password/forgot', { email: visitor.email }, { from: '/password/forgot' });
    // Both answer before their work is done (same answer for known and unknown addresses).
    await gb.app.signUps.settled();
    await gb.app.passwordResets.settled();
    await gb.app.mailer.settled();

    const mails = await outboxMailsTo(gb.app, visitor.email);
    assert.deepEqual(mails.map((m) => m.subject).sort(), [
      'Choose a new password for Guestbook',
      'Confirm your email address for Guestbook',
      'Someone tried to sign up to Guestbook with your address',
    ]);
    for (const mail of mails) {
      const whole = `${mail.subject}\n${String(mail.text)}\n${String(mail.html)}`;
      assert.doesNotMatch(whole, /conduit|articles|comments/i, mail.subject);
      assert.match(String(mail.text), /Guestbook/, `${mail.subject}: the body names the app`);
    }
    // What an unconfirmed member waits to write is said in the guestbook's words (site.writes).
    const confirm = mails.find((m) => m.subject?.startsWith('Confirm'))!;
    assert.match(String(confirm.text), /you can write messages once the address is confirmed/);
  });

  test(`[${backend}] Bastion's pages wear the guestbook's name and layout, with no Conduit link or name`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const member = await loggedInBrowser(gb.app, await makeUser(gb, 'ana'));
    for (const url of ['/settings', '/settings/security', '/register/check-email', '/email/confirmed?result=confirmed']) {
      const page = await member.get(url);
      assert.equal(page.statusCode, 200, url);
      assert.match(page.body, /<title>[^<]+ — Guestbook<\/title>/, url);
      assert.doesNotMatch(page.body, /conduit|href="\/editor"|articles|comments/i, url);
      assert.doesNotMatch(page.body, /href="\/admin/, `${url}: no Admin link for a member`);
    }
    const missing = await gb.app.inject({ url: '/no-such-page', headers: { accept: 'text/html' } });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.body, / — Guestbook<\/title>/);
  });

  test(`[${backend}] the guestbook's admin area has no Content tab, and its moderators no admin link`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const admin = await loggedInBrowser(gb.app, await makeUser(gb, 'root', 'admin'));
    const users = await admin.get('/admin');
    assert.equal(users.statusCode, 200);
    // The guestbook has no profile pages (no site.profilePath): names are listed, not linked to a 404.
    assert.match(users.body, /data-label="User">root /);
    assert.doesNotMatch(users.body, /href="\/profile\//);
    assert.match(users.body, /href="\/admin\/audit"/);
    assert.doesNotMatch(users.body, /\/admin\/content|>Content</);
    // The audit filter lists Bastion's events only: Conduit's content.moderate is not the guestbook's.
    const audit = await admin.get('/admin/audit');
    assert.match(audit.body, /value="authz.deny"/);
    assert.doesNotMatch(audit.body, /content\.moderate/);
    assert.equal((await admin.get('/admin/content')).statusCode, 404, 'no such page in this app');
    const mod = await loggedInBrowser(gb.app, await makeUser(gb, 'mod', 'moderator'));
    assert.doesNotMatch((await mod.get('/')).body, /href="\/admin/, 'a moderator here has no admin page to go to');
    assert.equal((await mod.get('/admin')).statusCode, 403);
  });
}
