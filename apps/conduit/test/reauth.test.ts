import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyPluginAsync, LightMyRequestResponse, RouteOptions } from 'fastify';
import { type BackendName, BACKENDS, memberBrowser, type PageBrowser, REAUTH_WINDOW_MS } from 'bastion/testing';
import { setRole, userId } from './helpers/conduit-fixtures.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// Re-authentication, "sudo mode" (SPEC §3): a sensitive change needs the password entered within
// the last 10 minutes. Attacked with a session whose proof is stale (the app's clock moved, no
// sleeping): every route declaring `reauth: true`, read from the app as it registers them, sends
// it to /reauthenticate before its handler runs; the way back never leaves the site; guesses at
// /reauthenticate meet the login limits; both outcomes are audited. Both session stores: the
// database's on sqlite, Redis's on postgres.

interface Declared {
  readonly method: string;
  readonly url: string;
}

interface ReauthTest extends TestApp {
  readonly clock: { ms: number };
  /** Every route that declared reauth: true, as the app registered it. */
  readonly routes: readonly Declared[];
}

// A GET page behind re-authentication (none exists yet; two-factor set-up will be one): the
// way back from /reauthenticate is that very URL.
const sensitivePage: FastifyPluginAsync = async (pages) => {
  pages.get('/test/sensitive', { config: { access: 'member', reauth: true } }, async () => 'the sensitive page');
};

async function reauthTest(t: TestContext, backend: BackendName): Promise<ReauthTest> {
  const clock = { ms: Date.now() };
  const routes: Declared[] = [];
  const onRoute = (route: RouteOptions): void => {
    if (route.config?.reauth !== true) return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  };
  const testApp = await startTestApp(t, backend, {}, {}, { now: () => clock.ms, onRoute, extraRoutes: { pages: sensitivePage } });
  return { ...testApp, clock, routes };
}

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

/** A form post as a browser on this site sends it: the session cookie, a good CSRF token, Origin and Referer of `from`. */
async function submitFrom(
  ctx: ReauthTest,
  browser: PageBrowser,
  from: string,
  url: string,
  fields: Record<string, string> = {},
  referer = `${ctx.config.publicOrigin}${from}`,
): Promise<LightMyRequestResponse> {
  const _csrf = await browser.csrf(from);
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: {
      cookie: browser.cookieHeader,
      'content-type': 'application/x-www-form-urlencoded',
      origin: ctx.config.publicOrigin,
      referer,
    },
    payload: form({ ...fields, _csrf }),
  });
}

const auditRows = async (ctx: TestApp, event: string) =>
  (
    await ctx.runtime.db.kysely.selectFrom('audit_log').select(['actor_id', 'details']).where('event', '=', event).orderBy('id').execute()
  ).map((r) => ({
    actorId: r.actor_id,
    details: JSON.parse(r.details) as Record<string, unknown>,
  }));

const account = (ctx: TestApp, id: number) =>
  ctx.runtime.db.kysely.selectFrom('users').select(['role', 'locked_at']).where('id', '=', id).executeTakeFirstOrThrow();

async function adminBrowser(ctx: TestApp): Promise<PageBrowser> {
  const admin = await memberBrowser(ctx.app, ctx.runtime);
  await setRole(ctx.runtime, admin.username, 'admin');
  return admin;
}

const PROMPT = /^\/reauthenticate\?/;

for (const backend of BACKENDS) {
  test(`[${backend}] every route declaring reauth sends a session whose proof is over 10 minutes old to /reauthenticate, before its handler, without signing it out`, async (t) => {
    const ctx = await reauthTest(t, backend);
    const declared = ctx.routes.map((r) => `${r.method} ${r.url}`);
    for (const expected of [
      'POST /settings/tokens/revoke',
      'POST /admin/users/:id/role',
      'POST /admin/users/:id/lock',
      'POST /admin/users/:id/unlock',
      'GET /test/sensitive',
    ]) {
      assert.ok(declared.includes(expected), `${expected} declares reauth (found: ${declared.join(', ')})`);
    }
    const admin = await adminBrowser(ctx);
    const target = await memberBrowser(ctx.app, ctx.runtime);
    const targetId = await userId(ctx.runtime, target.username);
    const token = await ctx.app.apiTokens.issue(await userId(ctx.runtime, admin.username));
    ctx.clock.ms += REAUTH_WINDOW_MS;

    for (const route of ctx.routes) {
      const url = route.url.replace(':id', String(targetId));
      const what = `${route.method} ${route.url}`;
      const res =
        route.method === 'GET'
          ? await ctx.app.inject({ url, headers: { cookie: admin.cookieHeader } })
          : // A body the handler would accept where it matters (a role, a token id): only the guard stands in the way.
            await submitFrom(
              ctx,
              admin,
              '/admin',
              url,
              route.url.endsWith('/role') ? { role: 'admin' } : route.url.endsWith('/revoke') ? { token: '1' } : {},
              `${ctx.config.publicOrigin}/admin?q=x`,
            );
      assert.equal(res.statusCode, 303, what);
      const expected =
        route.method === 'GET'
          ? `/reauthenticate?next=${encodeURIComponent(url)}`
          : `/reauthenticate?next=${encodeURIComponent('/admin?q=x')}&resubmit=1`;
      assert.equal(res.headers.location, expected, what);
      assert.equal(res.headers['cache-control'], 'no-store', what);
    }
    assert.deepEqual(await account(ctx, targetId), { role: 'member', locked_at: null }, 'no role changed, nothing locked');
    assert.notEqual(await ctx.app.apiTokens.authenticate(token), null, 'the token is not revoked');
    assert.equal((await admin.get('/settings')).statusCode, 200, 'a stale proof is not a logout');
    assert.deepEqual(await auditRows(ctx, 'role.change'), []);
  });

  test(`[${backend}] within 10 minutes of the login the sensitive routes act; at 10 minutes they ask again`, async (t) => {
    const ctx = await reauthTest(t, backend);
    const admin = await adminBrowser(ctx);
    const target = await memberBrowser(ctx.app, ctx.runtime);
    const targetId = await userId(ctx.runtime, target.username);
    const started = ctx.clock.ms;

    ctx.clock.ms = started + REAUTH_WINDOW_MS - 1;
    assert.equal((await ctx.app.inject({ url: '/test/sensitive', headers: { cookie: admin.cookieHeader } })).body, 'the sensitive page');
    const role = await admin.post(`/admin/users/${targetId}/role`, { role: 'moderator' }, { from: '/admin' });
    assert.equal(role.headers.location, '/admin?done=role');
    const lock = await admin.post(`/admin/users/${targetId}/lock`, {}, { from: '/admin' });
    assert.equal(lock.headers.location, '/admin?done=lock');
    assert.equal((await account(ctx, targetId)).role, 'moderator');

    ctx.clock.ms = started + REAUTH_WINDOW_MS;
    const unlock = await admin.post(`/admin/users/${targetId}/unlock`, {}, { from: '/admin' });
    assert.match(String(unlock.headers.location), PROMPT);
    assert.notEqual((await account(ctx, targetId)).locked_at, null, 'still locked');
  });

  test(`[${backend}] a refused form comes back through /reauthenticate: wrong password refused and audited, right one returns to the form's page, the resubmitted form acts`, async (t) => {
    const ctx = await reauthTest(t, backend);
    const owner = await memberBrowser(ctx.app, ctx.runtime);
    const ownerId = await userId(ctx.runtime, owner.username);
    const token = await ctx.app.apiTokens.issue(ownerId);
    const [info] = await ctx.app.apiTokens.list(ownerId);
    ctx.clock.ms += REAUTH_WINDOW_MS + 60_000;

    const refused = await submitFrom(ctx, owner, '/settings', '/settings/tokens/revoke', { token: String(info!.id) });
    assert.equal(refused.headers.location, '/reauthenticate?next=%2Fsettings&resubmit=1');
    const prompt = await owner.get(refused.headers.location!);
    assert.equal(prompt.statusCode, 200);
    assert.equal(prompt.headers['cache-control'], 'no-store');
    assert.match(prompt.body, /Confirm your identity, then submit it again\./);
    assert.match(prompt.body, /action="\/reauthenticate\?next=%2Fsettings&amp;resubmit=1"/);

    const wrong = await owner.post(
      '/reauthenticate?next=%2Fsettings&resubmit=1',
      { password: `${owner.password}x` },
      { from: refused.headers.location! },
    );
    assert.equal(wrong.statusCode, 422);
    assert.match(wrong.body, /The password is incorrect\./);
    assert.match(
      (await submitFrom(ctx, owner, '/settings', '/settings/tokens/revoke', { token: String(info!.id) })).headers.location!,
      PROMPT,
      'a wrong password proves nothing',
    );

    const right = await owner.post(
      '/reauthenticate?next=%2Fsettings&resubmit=1',
      { password: owner.password },
      { from: refused.headers.location! },
    );
    assert.equal(right.statusCode, 303);
    assert.equal(right.headers.location, '/settings');
    const again = await submitFrom(ctx, owner, '/settings', '/settings/tokens/revoke', { token: String(info!.id) });
    assert.equal(again.headers.location, '/settings?done=token');
    assert.equal(await ctx.app.apiTokens.authenticate(token), null, 'revoked');

    // The proof lasts 10 minutes from when it was given, not from the login.
    ctx.clock.ms += REAUTH_WINDOW_MS - 1;
    assert.equal((await ctx.app.inject({ url: '/test/sensitive', headers: { cookie: owner.cookieHeader } })).statusCode, 200);
    ctx.clock.ms += 1;
    assert.match(
      String((await ctx.app.inject({ url: '/test/sensitive', headers: { cookie: owner.cookieHeader } })).headers.location),
      PROMPT,
    );

    assert.deepEqual(await auditRows(ctx, 'reauthenticate.failure'), [{ actorId: ownerId, details: { method: 'password' } }]);
    assert.deepEqual(await auditRows(ctx, 'reauthenticate.success'), [{ actorId: ownerId, details: { method: 'password' } }]);
    const everything = JSON.stringify(await ctx.runtime.db.kysely.selectFrom('audit_log').selectAll().execute());
    assert.ok(!everything.includes(owner.password), 'no password, right or wrong, in the audit log');
  });

  test(`[${backend}] the way back never leaves the site: a foreign or disguised Referer or next ends on /`, async (t) => {
    const ctx = await reauthTest(t, backend);
    const owner = await memberBrowser(ctx.app, ctx.runtime);
    ctx.clock.ms += REAUTH_WINDOW_MS;
    const origin = ctx.config.publicOrigin;

    for (const referer of [
      'https://evil.com/settings',
      `${origin}//evil.com/settings`,
      `${origin}/\\evil.com`,
      `${origin}/%2e%2e//evil.com/`,
      '//evil.com/settings',
      'javascript:alert(1)',
      'not a url',
    ]) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/settings/tokens/revoke',
        headers: { cookie: owner.cookieHeader, 'content-type': 'application/x-www-form-urlencoded', referer },
        payload: form({ token: '1' }),
      });
      assert.equal(res.headers.location, '/reauthenticate?next=%2F&resubmit=1', `Referer ${referer}`);
    }

    for (const next of ['//evil.com', 'https://evil.com', '/\\evil', '/\t/evil.com', '/..//evil.com/', 'javascript:alert(1)']) {
      const query = `/reauthenticate?next=${encodeURIComponent(next)}`;
      const page = await owner.get(query);
      assert.equal(page.statusCode, 200, next);
      assert.ok(!/evil|javascript/.test(page.body), `the page links nowhere foreign for next=${JSON.stringify(next)}`);
      const done = await owner.post(query, { password: owner.password }, { from: query });
      assert.equal(done.statusCode, 303, next);
      assert.equal(done.headers.location, '/', `next=${JSON.stringify(next)}`);
    }
  });

  test(`[${backend}] wrong passwords at /reauthenticate are login attempts: past the limit 429, and the login form is refused too`, async (t) => {
    const ctx = await reauthTest(t, backend);
    const thief = await memberBrowser(ctx.app, ctx.runtime);
    const ownerId = await userId(ctx.runtime, thief.username);
    ctx.clock.ms += REAUTH_WINDOW_MS;
    for (let i = 1; i <= 5; i++) {
      const guess = await thief.post('/reauthenticate', { password: `guess number ${i}` }, { from: '/reauthenticate' });
      assert.equal(guess.statusCode, 422, `guess ${i}`);
    }
    const over = await thief.post('/reauthenticate', { password: thief.password }, { from: '/reauthenticate' });
    assert.equal(over.statusCode, 429, 'refused before the password is even checked');
    assert.ok(Number(over.headers['retry-after']) > 0);
    assert.match(
      String((await ctx.app.inject({ url: '/test/sensitive', headers: { cookie: thief.cookieHeader } })).headers.location),
      PROMPT,
      'not confirmed',
    );
    const login = await thief.post('/login', { email: thief.email, password: thief.password }, { from: '/login' });
    assert.equal(login.statusCode, 429, 'the same counts as /login');

    assert.equal((await auditRows(ctx, 'reauthenticate.failure')).length, 5);
    assert.ok((await auditRows(ctx, 'reauthenticate.failure')).every((r) => r.actorId === ownerId));
    assert.equal((await auditRows(ctx, 'login.lockout')).length, 1, 'five consecutive failures block the account+IP pair, audited once');
    assert.ok((await auditRows(ctx, 'ratelimit.hit')).length >= 1);
  });

  test(`[${backend}] the password and email forms ask for the current password themselves: a right one is the proof (not asked twice), a wrong one is not`, async (t) => {
    const ctx = await reauthTest(t, backend);
    const owner = await memberBrowser(ctx.app, ctx.runtime);
    const sensitive = async (): Promise<number> =>
      (await ctx.app.inject({ url: '/test/sensitive', headers: { cookie: owner.cookieHeader } })).statusCode;
    ctx.clock.ms += REAUTH_WINDOW_MS;
    const profile = { image: '', username: owner.username, bio: '' };

    const wrong = await owner.post('/settings', { ...profile, email: 'moved@example.com', currentPassword: 'not the password' });
    assert.equal(wrong.statusCode, 422);
    assert.equal(await sensitive(), 303, 'a wrong current password proves nothing');

    const moved = await owner.post('/settings', { ...profile, email: 'moved@example.com', currentPassword: owner.password });
    assert.equal(
      moved.headers.location,
      '/settings?done=email-pending',
      'a stale session changes the email with its current password, without a detour',
    );
    assert.equal(await sensitive(), 200, 'and that password is a fresh proof');

    ctx.clock.ms += REAUTH_WINDOW_MS;
    const NEW = 'an entirely new passphrase 2027';
    const changed = await owner.post('/settings/password', { currentPassword: owner.password, password: NEW });
    assert.equal(changed.headers.location, '/settings?done=password');
    assert.equal(await sensitive(), 200, 'the new session of a password change starts with a fresh proof');
    assert.deepEqual(
      (await auditRows(ctx, 'reauthenticate.success')).map((r) => r.details),
      [{ method: 'password' }, { method: 'password' }],
    );
  });
}
