import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { registerUser } from '../../src/conduit/users.js';
import type { Runtime } from '../../src/runtime.js';
import { confirmationTokenFor, confirmByLink } from './account-mail.js';

// A tiny browser for the HTML pages: it keeps cookies, submits a form with the CSRF token
// inside that very form (as a real browser does: a form that lost its own `_csrf` field fails
// here as it would there, whatever other forms the page has), and registers and logs in through
// POST /register and POST /login. Each browser has its own client address, so the per-IP limits
// of one test user never touch another's.

let nextAddress = 1;

export interface PageBrowser {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  get(url: string): Promise<LightMyRequestResponse>;
  /**
   * Submits the form that posts to `url`, as found on page `from` (default: `url` itself, else
   * the nearest page up its path, e.g. /settings for /settings/password, else /), with the
   * `_csrf` inside that form; a form without its own `_csrf` fails the test. When no page shows
   * a form for `url` (an attack), another form's token of the session is sent. `csrf: false`
   * posts `fields` as given (an attack's own token).
   */
  post(url: string, fields?: Record<string, string>, options?: { from?: string; csrf?: boolean }): Promise<LightMyRequestResponse>;
  /**
   * Posts `body` as JSON, as a page's script does (public/passkeys.js): `_csrf` is the token of
   * the form posting to `form` (default `url`) on page `from`, unless `csrf: false`.
   */
  postJson(url: string, body: Record<string, unknown>, options: { from: string; form?: string; csrf?: boolean }): Promise<LightMyRequestResponse>;
  /** The current CSRF token, as the given page renders it. */
  csrf(from?: string): Promise<string>;
  /** The Cookie header this browser would send now (to replay it later, as a thief would). */
  cookieHeader(): string;
}

const unescapeHtml = (text: string): string => text.replaceAll('&amp;', '&').replaceAll('&#39;', "'").replaceAll('&quot;', '"');

/**
 * The `_csrf` inside the POST form of `html` whose action is `url` (paths compared, query
 * ignored): undefined when no such form is on the page, null when the form has no token.
 */
export function formCsrf(html: string, url: string): string | null | undefined {
  const path = url.split('?')[0];
  for (const form of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const action = /\baction="([^"]*)"/.exec(form[1]!)?.[1];
    if (action === undefined || unescapeHtml(action).split('?')[0] !== path) continue;
    if (!/\bmethod="post"/i.test(form[1]!)) continue;
    return /name="_csrf" value="([^"]+)"/.exec(form[2]!)?.[1] ?? null;
  }
  return undefined;
}

/**
 * Pages a browser could have submitted `url` from: itself, its parent (/settings for
 * /settings/password, /article/x for /article/x/comments), then /. No further up: a GET of a
 * page the user may not see (/admin as a member) is itself an audited refusal.
 */
export function formPages(url: string): string[] {
  const path = url.split('?')[0]!;
  const parent = path.slice(0, path.lastIndexOf('/'));
  return [...new Set([path, ...(parent ? [parent] : []), '/'])];
}

/** The first `_csrf` of any form on the page: for attacks that bring a token of their own choosing. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  assert.ok(match, 'the page has a CSRF field');
  return match[1]!;
}

export function newBrowser(app: FastifyInstance, identity: { username?: string } = {}): PageBrowser {
  const n = nextAddress++;
  const remoteAddress = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const jar = new Map<string, string>();
  const username = identity.username ?? `user_${randomBytes(5).toString('hex')}`;
  const email = `${username.toLowerCase()}@example.com`;
  const password = `Correct ${randomBytes(9).toString('base64url')} horse battery`;

  const send = async (options: InjectOptions): Promise<LightMyRequestResponse> => {
    const cookie = browser.cookieHeader();
    const res = await app.inject({ ...options, remoteAddress, headers: { ...(options.headers ?? {}), ...(cookie ? { cookie } : {}) } });
    for (const c of res.cookies) {
      if (c.value === '' || (c.maxAge !== undefined && c.maxAge <= 0) || (c.expires && c.expires.getTime() < Date.now())) jar.delete(c.name);
      else jar.set(c.name, c.value);
    }
    return res;
  };

  const browser: PageBrowser = {
    username,
    email,
    password,
    get: (url) => send({ method: 'GET', url }),
    cookieHeader: () => [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
    async csrf(from = '/') {
      const page = await send({ method: 'GET', url: from });
      return csrfFrom(page.body);
    },
    async postJson(url, body, options) {
      const payload: Record<string, unknown> = { ...body };
      if (options.csrf !== false) {
        const page = await send({ method: 'GET', url: options.from });
        const token = formCsrf(page.body, options.form ?? url);
        assert.ok(token, `the form posting to ${options.form ?? url} on ${options.from} carries a _csrf field`);
        payload._csrf = token;
      }
      return send({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
    },
    async post(url, fields = {}, options = {}) {
      const form: Record<string, string> = { ...fields };
      if (options.csrf !== false) {
        const pages = options.from ? [options.from] : formPages(url);
        let token: string | null = null;
        let fallback: string | null = null;
        for (const page of pages) {
          const res = await send({ method: 'GET', url: page });
          if (res.statusCode !== 200) continue;
          const found = formCsrf(res.body, url);
          if (found === undefined) {
            fallback ??= /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1] ?? null;
            continue;
          }
          assert.ok(found, `the form posting to ${url} on ${page} carries its own _csrf field (a browser would post it without one and get 403)`);
          token = found;
          break;
        }
        // No page shows a form for this action (an attack, or a form this user is not shown):
        // the request carries the session's token from another form (the login page's, which every
        // visitor may see, if need be), as a forger holding a page of the site would.
        if (token === null && fallback === null) fallback = /name="_csrf" value="([^"]+)"/.exec((await send({ method: 'GET', url: '/login' })).body)?.[1] ?? null;
        token ??= fallback;
        assert.ok(token, `a page among ${pages.join(', ')} has a CSRF token for ${url}`);
        form._csrf = token;
      }
      return send({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
    },
  };
  return browser;
}

/**
 * A new member, registered through the pages, confirmed by following the link mailed to them
 * (read from the app's outbox: the real mail, the real link) and pressing "Confirm" on the page it
 * opens, and signed in through POST /login,
 * as a person does: registration itself signs nobody in (src/pages/auth-pages.ts).
 * `confirm: false` leaves the address unconfirmed (the account may sign in and read, not write).
 */
export async function registeredBrowser(app: FastifyInstance, identity: { username?: string; confirm?: boolean } = {}): Promise<PageBrowser> {
  const browser = newBrowser(app, identity);
  const res = await browser.post('/register', { username: browser.username, email: browser.email, password: browser.password }, { from: '/register' });
  assert.equal(res.statusCode, 303, `registration of ${browser.username} redirects (got ${res.statusCode})`);
  assert.equal(res.headers.location, '/register/check-email');
  // The account is made after the answer (src/accounts/sign-up.ts).
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
export async function loggedInBrowser(app: FastifyInstance, account: { email: string; password: string; username: string }): Promise<PageBrowser> {
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
