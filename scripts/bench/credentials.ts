import type { BenchStorage } from './storage.js';

// Credentials for the authenticated scenarios, obtained the way a client obtains them: an API
// token from POST /api/users/login, and an HTML session from the /login form (its CSRF token
// and pre-session cookie first). Each through the same proxy headers as the load.

export interface Credentials {
  /** `Authorization: Token …` values, one per bench account used. */
  readonly tokens: readonly string[];
  /** `Cookie` header values carrying a logged-in session. */
  readonly sessionCookies: readonly string[];
}

const proxied = (n: number): Record<string, string> => ({ 'x-forwarded-for': `192.0.2.${n & 255}`, 'x-forwarded-proto': 'https' });

/** `name=value` pairs of the response's Set-Cookie headers. */
function cookiePairs(response: Response): string[] {
  return response.headers.getSetCookie().map((c) => c.split(';', 1)[0]!);
}

export async function apiToken(baseUrl: string, storage: BenchStorage, n: number): Promise<string> {
  const account = storage.accounts[n % storage.accounts.length]!;
  const response = await fetch(`${baseUrl}/api/users/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...proxied(n) },
    body: JSON.stringify({ user: { email: account.email, password: storage.password } }),
  });
  if (response.status !== 200) throw new Error(`API login failed with ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { user: { token: string } };
  return body.user.token;
}

export async function sessionCookie(baseUrl: string, storage: BenchStorage, n: number): Promise<string> {
  const account = storage.accounts[n % storage.accounts.length]!;
  const form = await fetch(`${baseUrl}/login`, { headers: proxied(n) });
  const html = await form.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (form.status !== 200 || csrf === undefined) throw new Error(`login form failed with ${form.status}`);
  const response = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookiePairs(form).join('; '), ...proxied(n) },
    body: new URLSearchParams({ email: account.email, password: storage.password, _csrf: csrf }).toString(),
  });
  const session = cookiePairs(response).find((c) => /^(?:__Host-)?session=/.test(c));
  if (response.status !== 303 || session === undefined) throw new Error(`HTML login failed with ${response.status}`);
  return session;
}

export async function obtainCredentials(baseUrl: string, storage: BenchStorage, count: number): Promise<Credentials> {
  const tokens: string[] = [];
  const sessionCookies: string[] = [];
  for (let n = 0; n < count; n++) {
    tokens.push(await apiToken(baseUrl, storage, n));
    sessionCookies.push(await sessionCookie(baseUrl, storage, n));
  }
  return { tokens, sessionCookies };
}
