import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { csrfFrom } from './login.js';

// Real HTTP against a Bastion process on a loopback port (test/helpers/server-process.ts), for
// tests that stop dependencies or kill the process. Every request has a time bound, so a hang
// fails the test instead of stalling the suite.

export const REQUEST_BOUND_MS = 15_000;

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** A JSON API call, with `Authorization: Token …` when a token is given. */
export async function apiCall(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Token ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_BOUND_MS),
  });
  return answer(res);
}

export interface Account {
  readonly username: string;
  readonly email: string;
  readonly password: string;
}

export function newAccount(): Account {
  const username = `u_${randomBytes(5).toString('hex')}`;
  return { username, email: `${username}@example.com`, password: `Correct ${randomBytes(9).toString('base64url')} horse battery` };
}

/** Registers through POST /api/users; returns the token. */
export async function registerOverApi(base: string, account: Account): Promise<string> {
  const res = await apiCall(base, 'POST', '/api/users', { body: { user: account } });
  assert.equal(res.status, 201, `registration: ${res.text}`);
  return res.json().user.token as string;
}

/** A browser of HTML pages: a cookie jar, forms posted with the CSRF token the page rendered. */
export class PageClient {
  private readonly jar = new Map<string, string>();
  constructor(private readonly base: string) {}

  hasCookie(name: string): boolean {
    return this.jar.has(name);
  }

  async get(path: string): Promise<HttpAnswer> {
    return this.send('GET', path);
  }

  /** Posts a form with the `_csrf` that `from` renders (read first, as a browser would). */
  async post(path: string, fields: Record<string, string>, from = '/login'): Promise<HttpAnswer> {
    const page = await this.get(from);
    assert.equal(page.status, 200, `GET ${from} to read the form: ${page.status}`);
    return this.postWithToken(path, fields, csrfFrom(page.text));
  }

  async postWithToken(path: string, fields: Record<string, string>, csrf: string): Promise<HttpAnswer> {
    return this.send('POST', path, new URLSearchParams({ ...fields, _csrf: csrf }).toString());
  }

  private async send(method: string, path: string, form?: string): Promise<HttpAnswer> {
    const headers: Record<string, string> = {};
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = this.base;
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, ...(form !== undefined ? { body: form } : {}), redirect: 'manual', signal: AbortSignal.timeout(REQUEST_BOUND_MS) });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = value === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now()));
      if (expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return answer(res);
  }
}

/** Polls /readyz until it answers 200 or `boundMs` passes; returns the last answer. */
export async function untilReady(base: string, boundMs = 20_000): Promise<HttpAnswer> {
  const deadline = Date.now() + boundMs;
  let ready = await apiCall(base, 'GET', '/readyz');
  while (ready.status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    ready = await apiCall(base, 'GET', '/readyz');
  }
  return ready;
}
