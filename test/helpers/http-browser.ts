import { formCsrf } from './login.js';

// A cookie-keeping client over real HTTP (fetch), standing in for one browser with JavaScript
// off that a load balancer sends to whichever instance it likes: every call names the instance
// (its base URL), while cookies, the Origin the browser presents and its client address stay
// the browser's own. Cookies are host-only for 127.0.0.1 and, as in a real browser, not split
// by port, so one jar serves every instance.

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export class HttpBrowser {
  readonly jar = new Map<string, string>();
  lastBody = '';
  constructor(
    /** The origin the browser believes it is on (the balancer's); sent as Origin on forms. */
    readonly origin: string,
    /** The client address the trusted proxy reports (X-Forwarded-For). */
    readonly clientIp: string,
  ) {}

  get cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const maxAge = attr('max-age');
      const expires = attr('expires');
      const gone = value === '' || (maxAge !== undefined && Number(maxAge) <= 0) || (expires !== undefined && Date.parse(expires) <= Date.now());
      if (gone) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async request(base: string, method: string, path: string, options: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'x-forwarded-for': this.clientIp, ...(options.headers ?? {}) };
    if (this.jar.size > 0) headers.cookie = this.cookieHeader;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin ??= this.origin;
    }
    const res = await fetch(base + path, { method, headers, redirect: 'manual', ...(options.form ? { body: new URLSearchParams(options.form).toString() } : {}) });
    this.keep(res);
    const body = await res.text();
    this.lastBody = body;
    return { status: res.status, headers: res.headers, body };
  }

  get(base: string, path: string): Promise<HttpResponse> {
    return this.request(base, 'GET', path);
  }

  post(base: string, path: string, form: Record<string, string>): Promise<HttpResponse> {
    return this.request(base, 'POST', path, { form });
  }

  /** The `_csrf` field of `page` as instance `base` renders it. */
  async csrf(base: string, page: string): Promise<string> {
    const res = await this.get(base, page);
    const m = /name="_csrf" value="([^"]+)"/.exec(res.body);
    if (!m) throw new Error(`no CSRF token on ${base}${page} (status ${res.status})`);
    return m[1]!;
  }

  /** Shows `page` on `pageBase`, then posts its form for `action` to `actionBase`, with that form's own token. */
  async submit(pageBase: string, page: string, actionBase: string, action: string, form: Record<string, string>): Promise<HttpResponse> {
    const res = await this.get(pageBase, page);
    const _csrf = formCsrf(res.body, action);
    if (!_csrf) throw new Error(_csrf === null ? `the form posting to ${action} on ${page} has no _csrf field` : `no form posting to ${action} on ${pageBase}${page} (status ${res.status})`);
    return this.post(actionBase, action, { ...form, _csrf });
  }

  async login(base: string, email: string, password: string): Promise<HttpResponse> {
    return this.submit(base, '/login', base, '/login', { email, password });
  }

  /** Whether instance `base` sees a logged-in user (/settings needs one; anonymous gets 303 /login). */
  async loggedInAs(base: string): Promise<string | null> {
    const res = await this.get(base, '/settings');
    if (res.status === 303 && (res.headers.get('location') ?? '').startsWith('/login')) return null;
    if (res.status !== 200) throw new Error(`unexpected /settings answer ${res.status} from ${base}`);
    const m = /name="username" value="([^"]*)"/.exec(res.body);
    if (!m) throw new Error('the settings page shows no username');
    return m[1]!;
  }
}
