import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { registerUser } from '../accounts/users.js';
import { type Runtime } from '../runtime.js';
import { firstCsrf, TestClient } from './index.js';
import { confirmationTokenFor, confirmByLink } from './account-mail.js';

// People on the HTML pages, as test clients (packages/bastion/src/testing/test-client.ts) that know who they
// are: registered and logged in through POST /register and POST /login as a person does. Each
// has its own client address, so the per-IP limits of one test user never touch another's.

let nextAddress = 1;

/** A test client in process, with the account it registers or signs in as. */
export type PageBrowser = TestClient & { readonly username: string; readonly email: string; readonly password: string };

/** The first `_csrf` of any form on the page: for attacks that bring a token of their own choosing. */
export function csrfFrom(html: string): string {
  const token = firstCsrf(html);
  assert.ok(token, 'the page has a CSRF field');
  return token;
}

export function newBrowser(app: FastifyInstance, identity: { username?: string } = {}): PageBrowser {
  const n = nextAddress++;
  const remoteAddress = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const username = identity.username ?? `user_${randomBytes(5).toString('hex')}`;
  const email = `${username.toLowerCase()}@example.com`;
  const password = `Correct ${randomBytes(9).toString('base64url')} horse battery`;
  return Object.assign(new TestClient(app, { remoteAddress }), { username, email, password });
}

/**
 * A new member, registered through the pages, confirmed by following the link mailed to them
 * (read from the app's outbox: the real mail, the real link) and pressing "Confirm" on the page it
 * opens, and signed in through POST /login,
 * as a person does: registration itself signs nobody in (packages/bastion/src/pages/auth-pages.ts).
 * `confirm: false` leaves the address unconfirmed (the account may sign in and read, not write).
 */
export async function registeredBrowser(
  app: FastifyInstance,
  identity: { username?: string; confirm?: boolean } = {},
): Promise<PageBrowser> {
  const browser = newBrowser(app, identity);
  const res = await browser.post(
    '/register',
    { username: browser.username, email: browser.email, password: browser.password },
    { from: '/register' },
  );
  assert.equal(res.statusCode, 303, `registration of ${browser.username} redirects (got ${res.statusCode})`);
  assert.equal(res.headers.location, '/register/check-email');
  // The account is made after the answer (packages/bastion/src/accounts/sign-up.ts).
  await app.signUps.settled();
  if (identity.confirm !== false) {
    const confirmed = await confirmByLink(browser, await confirmationTokenFor(app, browser.email));
    assert.equal(confirmed.headers.location, '/email/confirmed?result=confirmed', `${browser.username} confirmed the address`);
  }
  const login = await browser.post('/login', { email: browser.email, password: browser.password }, { from: '/login' });
  assert.equal(login.statusCode, 303, 'login redirects');
  const home = await browser.get('/');
  assert.match(home.body, new RegExp(`href="/profile/${browser.username}"`), 'the new member is logged in');
  return browser;
}

/** Logs an existing account in through POST /login. */
export async function loggedInBrowser(
  app: FastifyInstance,
  account: { email: string; password: string; username: string },
): Promise<PageBrowser> {
  const browser = newBrowser(app, { username: account.username });
  const res = await browser.post('/login', { email: account.email, password: account.password }, { from: '/login' });
  assert.equal(res.statusCode, 303, 'login redirects');
  return Object.assign(browser, { email: account.email, password: account.password });
}

/**
 * An existing member with a confirmed address, signed in through POST /login: made through the
 * registration service with the address marked confirmed as a fixture (as makeUser does), so no
 * mail is sent. For tests about what an existing account does (reset, admin actions), whose mail
 * counts must not include a sign-up's confirmation.
 */
export async function memberBrowser(app: FastifyInstance, runtime: Runtime, identity: { username?: string } = {}): Promise<PageBrowser> {
  const fresh = newBrowser(app, identity);
  const user = await registerUser(runtime.db.kysely, { username: fresh.username, email: fresh.email, password: fresh.password });
  await runtime.db.kysely.updateTable('users').set({ email_confirmed_at: new Date().toISOString() }).where('id', '=', user.id).execute();
  const browser = await loggedInBrowser(app, fresh);
  assert.match((await browser.get('/')).body, new RegExp(`href="/profile/${fresh.username}"`), 'the member is logged in');
  return browser;
}
