import type { FuzzAccount } from './target-protocol.js';
import type { RawRequest, RawResponse, Target } from './target-process.js';

// Who the fuzzer speaks as: an anonymous visitor (with the pre-session CSRF cookie a form
// needs), a signed-in member and an admin (a session cookie and its CSRF token for the pages,
// an API token for the API when the app issues them). The accounts are written by the app's
// process (no sign-up flow to depend on: every app has Bastion's accounts, not every app lets
// anyone register); each then signs in through the login form and keeps its cookies like a
// browser. Fuzzed requests can log them out, lock them, rename them or delete what they wrote;
// `ensure` notices and makes them anew, so every route is reached by every kind of caller for
// the whole run.

export type IdentityName = 'anonymous' | 'member' | 'admin';

export interface Identity {
  readonly name: IdentityName;
  readonly jar: Map<string, string>;
  csrf: string;
  token: string | null;
  username: string | null;
  email: string | null;
  /** Something since the last check may have changed who this is (a write, a cleared cookie). */
  dirty: boolean;
}

export interface Fixtures {
  readonly identities: Record<IdentityName, Identity>;
  /** Real values by parameter name (an existing slug, username, comment id …), so generated requests reach past the 404. */
  readonly known: Record<string, string[]>;
}

/** The pages the identities use: the login form, and a page that shows a signed-in caller a form. */
export interface IdentityPages {
  readonly loginPage: string;
  readonly signedInPage: string;
}

/** Sends one request as the fuzzer's client (its own address, optional JSON, form or token). */
export type FuzzCall = (
  method: string,
  path: string,
  options?: { json?: unknown; form?: Record<string, string>; token?: string; jar?: Map<string, string> },
) => Promise<RawResponse>;

/**
 * The app's own content to aim at (an article to comment on, a note to share), made with the
 * member's and admin's credentials: returns real values by parameter name. Called before every
 * route, so it checks that what it made is still there and makes it again if not.
 */
export type KnownContent = (
  call: FuzzCall,
  who: { readonly member: Identity; readonly admin: Identity },
  known: Readonly<Record<string, string[]>>,
) => Promise<Record<string, string[]>>;

const TIMEOUT_MS = 20_000;
let clientCounter = 0;

/** A fresh client address per request: the per-address limits then count generated clients, not the fuzzer. */
export function nextClientAddress(): string {
  clientCounter += 1;
  return `10.${(clientCounter >> 16) & 255}.${(clientCounter >> 8) & 255}.${clientCounter & 255}`;
}

export function cookieHeader(jar: Map<string, string>): string {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** Keeps the response's cookies in the jar; says whether the session cookie changed. */
export function keepCookies(jar: Map<string, string>, res: RawResponse): boolean {
  const raw = res.headers['set-cookie'];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  let sessionChanged = false;
  for (const line of lines) {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const gone = value === '' || attrs.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()));
    if (name.endsWith('session') && jar.get(name) !== (gone ? undefined : value)) sessionChanged = true;
    if (gone) jar.delete(name);
    else jar.set(name, value);
  }
  return sessionChanged;
}

function formBody(fields: Record<string, string>): Buffer {
  return Buffer.from(new URLSearchParams(fields).toString());
}

async function call(
  target: Target,
  jar: Map<string, string> | null,
  method: string,
  path: string,
  options: { json?: unknown; form?: Record<string, string>; token?: string } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { 'x-forwarded-for': nextClientAddress() };
  if (jar && jar.size > 0) headers.cookie = cookieHeader(jar);
  if (options.token) headers.authorization = `Token ${options.token}`;
  let body: Buffer | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = Buffer.from(JSON.stringify(options.json));
  } else if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers.origin = target.origin;
    body = formBody(options.form);
  }
  const request: RawRequest = { method, path, headers, ...(body ? { body } : {}) };
  const res = await target.send(request, TIMEOUT_MS);
  if (jar) keepCookies(jar, res);
  return res;
}

/** The fuzzer's client for the app's KnownContent hook. */
export const fuzzCall =
  (target: Target): FuzzCall =>
  (method, path, options = {}) =>
    call(target, options.jar ?? null, method, path, options);

const csrfOf = (html: string): string | null => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? null;

async function freshCsrf(target: Target, identity: Identity, pages: IdentityPages): Promise<void> {
  const page = identity.name === 'anonymous' ? pages.loginPage : pages.signedInPage;
  const res = await call(target, identity.jar, 'GET', page);
  const token = csrfOf(res.body);
  if (!token) throw new Error(`fuzz fixtures: no CSRF token on ${page} for ${identity.name} (status ${res.status})`);
  identity.csrf = token;
}

async function makeAccount(target: Target, identity: Identity, role: 'member' | 'admin', pages: IdentityPages): Promise<void> {
  const made: FuzzAccount = await target.account(role);
  identity.token = made.token;
  identity.jar.clear();
  const login = await call(target, identity.jar, 'GET', pages.loginPage);
  const csrf = csrfOf(login.body);
  const res = await call(target, identity.jar, 'POST', pages.loginPage, {
    form: { email: made.email, password: made.password, ...(csrf ? { _csrf: csrf } : {}) },
  });
  if (res.status !== 303) throw new Error(`fuzz fixtures: page login of ${role} answered ${res.status}: ${res.body.slice(0, 300)}`);
  identity.username = made.username;
  identity.email = made.email;
  await freshCsrf(target, identity, pages);
}

function blank(name: IdentityName): Identity {
  return { name, jar: new Map(), csrf: '', token: null, username: null, email: null, dirty: true };
}

export async function makeFixtures(target: Target, pages: IdentityPages, content?: KnownContent): Promise<Fixtures> {
  const fixtures: Fixtures = { identities: { anonymous: blank('anonymous'), member: blank('member'), admin: blank('admin') }, known: {} };
  await ensure(target, fixtures, pages, content);
  return fixtures;
}

/** Makes every identity what its name says again, and the known content exist again. */
export async function ensure(target: Target, fixtures: Fixtures, pages: IdentityPages, content?: KnownContent): Promise<void> {
  const { anonymous, member, admin } = fixtures.identities;
  if (
    anonymous.dirty ||
    ![...anonymous.jar.keys()].some((k) => k.endsWith('csrf')) ||
    [...anonymous.jar.keys()].some((k) => k.endsWith('session'))
  ) {
    anonymous.jar.clear();
    await freshCsrf(target, anonymous, pages);
  }
  anonymous.dirty = false;
  for (const [identity, role] of [
    [member, 'member'],
    [admin, 'admin'],
  ] as const) {
    if (!identity.dirty && identity.username) continue;
    // Still the same account with the same role (the token, if any, still good), and still signed in on the pages.
    const now = identity.username ? await target.whois(identity.token, identity.username) : null;
    const page =
      now?.username === identity.username && now.role === role ? await call(target, identity.jar, 'GET', pages.signedInPage) : null;
    if (page?.status !== 200) await makeAccount(target, identity, role, pages);
    else await freshCsrf(target, identity, pages);
    identity.dirty = false;
  }
  Object.assign(fixtures.known, { username: [member.username!, admin.username!], email: [member.email!, admin.email!] });
  if (content) Object.assign(fixtures.known, await content(fuzzCall(target), { member, admin }, fixtures.known));
}
