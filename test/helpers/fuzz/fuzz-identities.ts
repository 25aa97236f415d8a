import { randomBytes } from 'node:crypto';
import type { RawRequest, RawResponse, Target } from './target-process.js';

// Who the fuzzer speaks as: an anonymous visitor (with the pre-session CSRF cookie a form
// needs), a signed-in member and an admin (a session cookie and its CSRF token for the pages,
// an API token for /api). Each keeps its cookies like a browser. Fuzzed requests can log them
// out, lock them, rename them or delete their article; `ensure` notices and makes them anew,
// so every route is reached by every kind of caller for the whole run.

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

async function call(target: Target, jar: Map<string, string> | null, method: string, path: string, options: { json?: unknown; form?: Record<string, string>; token?: string } = {}): Promise<RawResponse> {
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

const csrfOf = (html: string): string | null => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? null;

async function freshCsrf(target: Target, identity: Identity): Promise<void> {
  const page = identity.name === 'anonymous' ? '/register' : '/settings';
  const res = await call(target, identity.jar, 'GET', page);
  const token = csrfOf(res.body);
  if (!token) throw new Error(`fuzz fixtures: no CSRF token on ${page} for ${identity.name} (status ${res.status})`);
  identity.csrf = token;
}

async function makeAccount(target: Target, identity: Identity, role: 'member' | 'admin'): Promise<void> {
  const username = `fz_${randomBytes(5).toString('hex')}`;
  const email = `${username}@example.com`;
  const password = `Fuzzed ${randomBytes(9).toString('base64url')} harbour lantern`;
  const reg = await call(target, null, 'POST', '/api/users', { json: { user: { username, email, password } } });
  if (reg.status !== 201) throw new Error(`fuzz fixtures: registering ${role} answered ${reg.status}: ${reg.body.slice(0, 300)}`);
  identity.token = (JSON.parse(reg.body) as { user: { token: string } }).user.token;
  if (role === 'admin') await target.setRole(username, 'admin');
  identity.jar.clear();
  const login = await call(target, identity.jar, 'GET', '/login');
  const csrf = csrfOf(login.body);
  const res = await call(target, identity.jar, 'POST', '/login', { form: { email, password, ...(csrf ? { _csrf: csrf } : {}) } });
  if (res.status !== 303) throw new Error(`fuzz fixtures: page login of ${role} answered ${res.status}: ${res.body.slice(0, 300)}`);
  identity.username = username;
  identity.email = email;
  await freshCsrf(target, identity);
}

function blank(name: IdentityName): Identity {
  return { name, jar: new Map(), csrf: '', token: null, username: null, email: null, dirty: true };
}

export async function makeFixtures(target: Target): Promise<Fixtures> {
  const fixtures: Fixtures = { identities: { anonymous: blank('anonymous'), member: blank('member'), admin: blank('admin') }, known: {} };
  await ensure(target, fixtures);
  return fixtures;
}

/** Makes every identity what its name says again, and the known content exist again. */
export async function ensure(target: Target, fixtures: Fixtures): Promise<void> {
  const { anonymous, member, admin } = fixtures.identities;
  if (anonymous.dirty || ![...anonymous.jar.keys()].some((k) => k.endsWith('csrf')) || [...anonymous.jar.keys()].some((k) => k.endsWith('session'))) {
    anonymous.jar.clear();
    await freshCsrf(target, anonymous);
  }
  anonymous.dirty = false;
  for (const [identity, role] of [[member, 'member'], [admin, 'admin']] as const) {
    if (!identity.dirty && identity.token) continue;
    const api = identity.token ? await call(target, null, 'GET', '/api/user', { token: identity.token }) : null;
    const apiUser = api?.status === 200 ? (JSON.parse(api.body) as { user: { username: string } }).user.username : null;
    const page = await call(target, identity.jar, 'GET', role === 'admin' ? '/admin' : '/settings');
    if (apiUser === null || apiUser !== identity.username || page.status !== 200) await makeAccount(target, identity, role);
    else await freshCsrf(target, identity);
    identity.dirty = false;
  }
  // Content to aim at: the member's article and a comment on it.
  const slugs = fixtures.known.slug ?? [];
  const alive = slugs[0] ? (await call(target, null, 'GET', `/api/articles/${slugs[0]}`)).status === 200 : false;
  if (!alive) {
    const art = await call(target, null, 'POST', '/api/articles', { token: member.token!, json: { article: { title: `Fuzz target ${randomBytes(3).toString('hex')}`, description: 'Aimed at', body: 'Some *Markdown* with [a link](https://example.com).', tagList: ['fuzz'] } } });
    if (art.status !== 201) throw new Error(`fuzz fixtures: writing an article answered ${art.status}: ${art.body.slice(0, 300)}`);
    const slug = (JSON.parse(art.body) as { article: { slug: string } }).article.slug;
    const com = await call(target, null, 'POST', `/api/articles/${slug}/comments`, { token: member.token!, json: { comment: { body: 'A comment to aim at' } } });
    const commentId = com.status === 200 || com.status === 201 ? String((JSON.parse(com.body) as { comment: { id: number } }).comment.id) : '1';
    fixtures.known.slug = [slug];
    fixtures.known.id = [commentId, '1', '2'];
  }
  fixtures.known.username = [member.username!, admin.username!];
  fixtures.known.email = [member.email!, admin.email!];
  fixtures.known.tag = ['fuzz'];
  fixtures.known.author = [member.username!];
  fixtures.known.favorited = [member.username!];
}
