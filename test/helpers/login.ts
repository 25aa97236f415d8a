import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

// A tiny browser for the HTML pages: it keeps cookies, reads the CSRF token out of the page it
// was given (as a real form would), and registers and logs in through POST /register and
// POST /login. Each browser has its own client address, so the per-IP limits of one test user
// never touch another's.

let nextAddress = 1;

export interface PageBrowser {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  get(url: string): Promise<LightMyRequestResponse>;
  /** Posts a form with the CSRF token rendered by `from` (default /login, which every visitor may see). */
  post(url: string, fields?: Record<string, string>, options?: { from?: string; csrf?: boolean }): Promise<LightMyRequestResponse>;
  /** The current CSRF token, as the given page renders it. */
  csrf(from?: string): Promise<string>;
  /** The Cookie header this browser would send now (to replay it later, as a thief would). */
  cookieHeader(): string;
}

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
    async post(url, fields = {}, options = {}) {
      const form: Record<string, string> = { ...fields };
      if (options.csrf !== false) form._csrf = await browser.csrf(options.from ?? '/login');
      return send({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
    },
  };
  return browser;
}

/** A new member, registered and logged in through the pages. */
export async function registeredBrowser(app: FastifyInstance, identity: { username?: string } = {}): Promise<PageBrowser> {
  const browser = newBrowser(app, identity);
  const res = await browser.post('/register', { username: browser.username, email: browser.email, password: browser.password }, { from: '/register' });
  assert.equal(res.statusCode, 303, `registration of ${browser.username} redirects (got ${res.statusCode})`);
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
