import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';

// The one client tests (and the attack kit) speak to an app with. It stands in for a browser
// with JavaScript off, or an API caller: it keeps cookies as a browser does (and forgets the
// ones an answer clears), posts forms with the CSRF token inside that very form, sends JSON and
// form bodies, and an API token. It talks to the app in process (app.inject) or, given a base
// URL, over a real socket (fetch), with the same answers either way, so a test reads the same.

/** A cookie as an answer set it. */
export interface TestCookie {
  readonly name: string;
  readonly value: string;
  readonly path?: string;
  readonly domain?: string;
  readonly expires?: Date;
  readonly maxAge?: number;
  readonly secure?: boolean;
  readonly httpOnly?: boolean;
  readonly sameSite?: string;
}

/** An answer, in app.inject's shape whichever way it came (header names lower-case). */
export interface TestResponse {
  readonly statusCode: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: string;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly cookies: readonly TestCookie[];
}

export interface TestRequest {
  readonly method?: string;
  /** A path (against the client's target), or over a socket a whole URL (another instance). */
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent urlencoded, as a form is. */
  readonly form?: Record<string, string>;
  /** Sent as is (a malformed body, an attack's own encoding); set its content-type in `headers`. */
  readonly body?: string;
  /** An API token, sent as `Authorization: Token …` (overrides the client's). */
  readonly token?: string;
}

export interface TestClientOptions {
  /** Sent with every request (X-Forwarded-Proto behind a production proxy, X-Forwarded-For). */
  readonly headers?: Record<string, string>;
  /** In process only: the client address the app sees, so per-address limits of one caller never touch another's. */
  readonly remoteAddress?: string;
  /** Sent as Origin with every form and JSON post, as a browser on that origin does. */
  readonly origin?: string;
  /** An API token sent with every request. */
  readonly token?: string;
  /** Over a socket: how long a request may take before it fails (default REQUEST_BOUND_MS). */
  readonly timeoutMs?: number;
}

/** Over a socket every request has a time bound, so a hang fails the test instead of stalling the suite. */
export const REQUEST_BOUND_MS = 15_000;

const CSRF_FIELD = /name="_csrf" value="([^"]+)"/;
const unescapeHtml = (text: string): string => text.replaceAll('&amp;', '&').replaceAll('&#39;', "'").replaceAll('&quot;', '"');
const pathOf = (url: string): string => new URL(url, 'http://client.invalid').pathname;

/** The first `_csrf` of any form in `html`, or undefined. */
export function firstCsrf(html: string): string | undefined {
  return CSRF_FIELD.exec(html)?.[1];
}

/**
 * The `_csrf` inside the POST form of `html` whose action is `url` (paths compared, query and
 * origin ignored): undefined when no such form is on the page, null when the form has no token.
 */
export function formCsrf(html: string, url: string): string | null | undefined {
  const path = pathOf(url);
  for (const form of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const action = /\baction="([^"]*)"/.exec(form[1]!)?.[1];
    if (action === undefined || pathOf(unescapeHtml(action)) !== path) continue;
    if (!/\bmethod="post"/i.test(form[1]!)) continue;
    return CSRF_FIELD.exec(form[2]!)?.[1] ?? null;
  }
  return undefined;
}

/**
 * Pages a browser could have submitted `url` from: itself, its parent (/settings for
 * /settings/password, /article/x for /article/x/comments), then /. No further up: a GET of a
 * page the user may not see (/admin as a member) is itself an audited refusal.
 */
export function formPages(url: string): string[] {
  const { origin, pathname } = new URL(url, 'http://client.invalid');
  const base = origin === 'http://client.invalid' ? '' : origin;
  const parent = pathname.slice(0, pathname.lastIndexOf('/'));
  return [...new Set([pathname, ...(parent ? [parent] : []), '/'])].map((p) => base + p);
}

function parseSetCookie(line: string): TestCookie {
  const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
  const eq = pair.indexOf('=');
  const cookie: { -readonly [K in keyof TestCookie]: TestCookie[K] } = { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  for (const attribute of attributes) {
    const [key = '', value = ''] = attribute.split(/=(.*)/s);
    switch (key.toLowerCase()) {
      case 'max-age':
        cookie.maxAge = Number(value);
        break;
      case 'expires':
        cookie.expires = new Date(value);
        break;
      case 'path':
        cookie.path = value;
        break;
      case 'domain':
        cookie.domain = value;
        break;
      case 'samesite':
        cookie.sameSite = value;
        break;
      case 'secure':
        cookie.secure = true;
        break;
      case 'httponly':
        cookie.httpOnly = true;
        break;
    }
  }
  return cookie;
}

async function overSocket(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<TestResponse> {
  const res = await fetch(url, {
    method,
    headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  const out: OutgoingHttpHeaders = {};
  res.headers.forEach((value, name) => {
    if (name !== 'set-cookie') out[name] = value;
  });
  const setCookies = res.headers.getSetCookie();
  if (setCookies.length > 0) out['set-cookie'] = setCookies;
  return { statusCode: res.status, headers: out, body: text, json: () => JSON.parse(text), cookies: setCookies.map(parseSetCookie) };
}

export class TestClient {
  /** The cookies this client holds, by name (one jar across instances: cookies are not split by port). */
  readonly jar = new Map<string, string>();
  /** The body of the last answer. */
  lastBody = '';

  constructor(
    /** The app, reached in process, or the base URL of one listening on a socket. */
    readonly target: FastifyInstance | string,
    readonly options: TestClientOptions = {},
  ) {}

  /** The Cookie header this client sends now (to replay it later, as a thief would). */
  get cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(req: TestRequest): Promise<TestResponse> {
    const method = req.method ?? 'GET';
    const headers: Record<string, string> = { ...this.options.headers };
    if (this.jar.size > 0) headers.cookie = this.cookieHeader;
    const token = req.token ?? this.options.token;
    if (token) headers.authorization = `Token ${token}`;
    let body = req.body;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    }
    if (this.options.origin && (req.json !== undefined || req.form !== undefined)) headers.origin = this.options.origin;
    Object.assign(headers, req.headers);
    const res =
      typeof this.target === 'string'
        ? await overSocket(
            /^https?:/.test(req.url) ? req.url : this.target + req.url,
            method,
            headers,
            body,
            this.options.timeoutMs ?? REQUEST_BOUND_MS,
          )
        : ((await this.target.inject({
            method: method as 'GET',
            url: req.url,
            headers,
            ...(body !== undefined ? { payload: body } : {}),
            ...(this.options.remoteAddress ? { remoteAddress: this.options.remoteAddress } : {}),
          })) as TestResponse);
    for (const c of res.cookies) {
      const gone =
        c.value === '' || (c.maxAge !== undefined && c.maxAge <= 0) || (c.expires !== undefined && c.expires.getTime() <= Date.now());
      if (gone) this.jar.delete(c.name);
      else this.jar.set(c.name, c.value);
    }
    this.lastBody = res.body;
    return res;
  }

  get(url: string, headers: Record<string, string> = {}): Promise<TestResponse> {
    return this.request({ method: 'GET', url, headers });
  }

  /**
   * Posts `fields` as a form to `url`, as a browser holding this session's pages would: with the
   * `_csrf` inside the form that posts to `url`, as found on page `from` (default: `url` itself,
   * else the nearest page up its path, e.g. /settings for /settings/password, else /). A form
   * without its own `_csrf` throws (a browser would post it without one and get 403). When no
   * page shows such a form (an attack, or a form this caller is not shown), another form's token
   * of the session is sent, as a forger holding a page of the site would. `csrf: false` posts
   * `fields` as given (no token, or an attack's own).
   */
  async post(
    url: string,
    fields: Record<string, string> = {},
    options: { from?: string; csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<TestResponse> {
    const form = options.csrf === false ? fields : { ...fields, _csrf: await this.formToken(url, options.from) };
    return this.request({ method: 'POST', url, form, ...(options.headers ? { headers: options.headers } : {}) });
  }

  /**
   * Shows `page`, then submits its form that posts to `action`, with that form's own token, as a
   * person pressing its button does: throws when the page shows no such form, or one without a token.
   */
  async submit(
    page: string,
    action: string,
    fields: Record<string, string> = {},
    headers: Record<string, string> = {},
  ): Promise<TestResponse> {
    const res = await this.get(page);
    const _csrf = formCsrf(res.body, action);
    if (!_csrf)
      throw new Error(
        _csrf === null
          ? `the form posting to ${action} on ${page} has no _csrf field`
          : `no form posting to ${action} on ${page} (status ${res.statusCode})`,
      );
    return this.request({ method: 'POST', url: action, form: { ...fields, _csrf }, headers });
  }

  /**
   * Posts `body` as JSON, as a page's script does (packages/bastion/public/passkeys.js): with `from`, `_csrf` is the
   * token of the form posting to `form` (default `url`) on that page, unless `csrf: false`.
   */
  async postJson(
    url: string,
    body: Record<string, unknown>,
    options: { from?: string; form?: string; csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<TestResponse> {
    const json =
      options.from !== undefined && options.csrf !== false
        ? { ...body, _csrf: await this.formToken(options.form ?? url, options.from) }
        : body;
    return this.request({ method: 'POST', url, json, ...(options.headers ? { headers: options.headers } : {}) });
  }

  /** The CSRF token of this session: the first form's `_csrf` on `page` (fetched), or on the last page shown. */
  async csrf(page?: string): Promise<string> {
    const res = page === undefined ? undefined : await this.get(page);
    const token = firstCsrf(this.lastBody);
    if (!token) throw new Error(`no _csrf field on ${page ?? 'the last page'}${res ? ` (status ${res.statusCode})` : ''}`);
    return token;
  }

  /** Signs in through the login form (`page`, default /login); the answer says how it went. */
  login(email: string, password: string, page = '/login'): Promise<TestResponse> {
    return this.submit(page, page, { email, password });
  }

  /** The `_csrf` a browser would send with the form posting to `url` (see post). */
  private async formToken(url: string, from: string | undefined): Promise<string> {
    const pages = from !== undefined ? [from] : formPages(url);
    let fallback: string | undefined;
    for (const page of pages) {
      const res = await this.get(page);
      if (res.statusCode !== 200) continue;
      const token = formCsrf(res.body, url);
      if (token) return token;
      if (token === null)
        throw new Error(`the form posting to ${url} on ${page} has no _csrf field (a browser would post it without one and get 403)`);
      fallback ??= firstCsrf(res.body);
    }
    // The login page's token, which every visitor may see, if need be.
    fallback ??= firstCsrf((await this.get(typeof this.target === 'string' ? `${new URL(url, this.target).origin}/login` : '/login')).body);
    if (!fallback) throw new Error(`no page among ${pages.join(', ')} has a CSRF token for ${url}`);
    return fallback;
  }
}
