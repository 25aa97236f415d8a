import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

// A caller of the pages through app.inject that keeps its cookies as a browser does, for the
// kit's in-process checks: sign in through the login form, read the CSRF token a page prints.

const CSRF_FIELD = /name="_csrf" value="([^"]+)"/;

export class InjectSession {
  readonly jar = new Map<string, string>();

  constructor(
    readonly app: FastifyInstance,
    /** Sent with every request (X-Forwarded-Proto behind a production proxy). */
    readonly defaultHeaders: Record<string, string> = {},
  ) {}

  get cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async send(options: InjectOptions): Promise<LightMyRequestResponse> {
    const headers = { ...this.defaultHeaders, ...(this.jar.size > 0 ? { cookie: this.cookieHeader } : {}), ...(options.headers as Record<string, string> | undefined) };
    const res = await this.app.inject({ ...options, headers });
    for (const c of res.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const gone = c.value === '' || c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() <= Date.now());
      if (gone) this.jar.delete(c.name);
      else this.jar.set(c.name, c.value);
    }
    return res;
  }

  /** The CSRF token `page` prints for this session (a form's hidden `_csrf`). */
  async csrf(page: string): Promise<string> {
    const res = await this.send({ method: 'GET', url: page });
    const token = CSRF_FIELD.exec(res.body)?.[1];
    if (!token) throw new Error(`attack kit: GET ${page} answered ${res.statusCode} with no _csrf field to read a token from`);
    return token;
  }

  /** Signs in through the login form, as a browser without JavaScript does. */
  async signIn(loginPage: string, email: string, password: string, origin: string): Promise<void> {
    const _csrf = await this.csrf(loginPage);
    const res = await this.send({
      method: 'POST',
      url: loginPage,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      payload: new URLSearchParams({ email, password, _csrf }).toString(),
    });
    if (res.statusCode !== 303) throw new Error(`attack kit: signing in at ${loginPage} answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
  }
}
