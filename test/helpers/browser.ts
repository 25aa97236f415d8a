import type { FastifyInstance, FastifyPluginAsync, LightMyRequestResponse } from 'fastify';
import { formCsrf } from './login.js';

// A tiny cookie-keeping client over app.inject, standing in for a browser with JavaScript off:
// it keeps what Set-Cookie says (and forgets cleared cookies), posts urlencoded forms, and
// reads the CSRF token out of the last page it was shown.

export class Browser {
  readonly jar = new Map<string, string>();
  lastBody = '';
  constructor(
    public app: FastifyInstance,
    /** Sent with every request (e.g. X-Forwarded-Proto behind a production proxy). */
    readonly defaultHeaders: Record<string, string> = {},
  ) {}

  get cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: LightMyRequestResponse): LightMyRequestResponse {
    for (const c of res.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const gone = c.value === '' || c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() <= Date.now());
      if (gone) this.jar.delete(c.name);
      else this.jar.set(c.name, c.value);
    }
    this.lastBody = res.body;
    return res;
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.keep(await this.app.inject({ method: 'GET', url, headers: { ...this.defaultHeaders, cookie: this.cookieHeader, ...headers } }));
  }

  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.keep(
      await this.app.inject({
        method: 'POST',
        url,
        headers: { ...this.defaultHeaders, cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: new URLSearchParams(form).toString(),
      }),
    );
  }

  /** The `_csrf` of the page last shown (fetches `page` first when given). */
  async csrf(page?: string): Promise<string> {
    if (page !== undefined) await this.get(page);
    const m = /name="_csrf" value="([^"]+)"/.exec(this.lastBody);
    if (!m) throw new Error('no CSRF token on the page');
    return m[1]!;
  }

  /** Posts the form of `page` that posts to `action` the way the browser would: with that form's own token. */
  async submit(page: string, action: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    await this.get(page);
    const _csrf = formCsrf(this.lastBody, action);
    if (!_csrf) throw new Error(_csrf === null ? `the form posting to ${action} on ${page} has no _csrf field` : `no form posting to ${action} on ${page}`);
    return this.post(action, { ...form, _csrf }, headers);
  }

  async login(email: string, password: string): Promise<LightMyRequestResponse> {
    return this.submit('/login', '/login', { email, password });
  }
}

// Accounts straight in the database ship with the stack (the attack kit makes its callers so).
export { createUser, type TestUser } from '../../src/testing/accounts.js';

export const sessionCookieOf = (res: LightMyRequestResponse, name = 'session') =>
  (res.cookies as Array<{ name: string; value: string; maxAge?: number; httpOnly?: boolean; secure?: boolean; sameSite?: string; path?: string }>).find((c) => c.name === name);

/** Whether the browser's session is a live, logged-in one (the settings page needs a user). */
export async function isLoggedIn(browser: Browser): Promise<boolean> {
  const res = await browser.get('/settings');
  if (res.statusCode === 200) return true;
  if (res.statusCode === 303 && String(res.headers.location).startsWith('/login')) return false;
  throw new Error(`unexpected /settings answer ${res.statusCode}`);
}

/** GET /api/test-probe, for members only: says who the API thinks is calling. Pass as `extraRoutes.api`. */
export const apiProbe: FastifyPluginAsync = async (api) => {
  api.get('/test-probe', { config: { access: 'member' } }, async (request) => ({ username: request.member.username }));
};
