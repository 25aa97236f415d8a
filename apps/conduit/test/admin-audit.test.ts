import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Runtime, AuditEvent } from 'bastion';
import { BACKENDS, newBrowser, type PageBrowser, registeredBrowser, TYPED_IDENTIFIER_MAX } from 'bastion/testing';
import { setRole } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// /admin/audit, attacked: only admins read it (a refusal is itself a logged event), filters
// return exactly the matching rows and page through them newest first, a filter value outside
// its schema is a 4xx, attacker-chosen text in the log is shown escaped, and no secret the
// server handled (a password tried, a session cookie, an API token) ever appears in the page.

const auditIds = (html: string): number[] => [...html.matchAll(/<tr id="audit-(\d+)"/g)].map((m) => Number(m[1]));

interface Seed {
  event: AuditEvent;
  actor: string | null;
  ip: string;
}

/** Rows written straight to the table, one second apart in the past, oldest first; returns their ids. */
async function seed(runtime: Runtime, rows: Seed[]): Promise<number[]> {
  const start = Date.parse('2020-01-01T00:00:00.000Z');
  const ids: number[] = [];
  for (const [i, r] of rows.entries()) {
    const { id } = await runtime.db.kysely
      .insertInto('audit_log')
      // An actor is always an account (its id and username), never text a client typed.
      .values({
        at: new Date(start + i * 1000).toISOString(),
        event: r.event,
        actor_id: r.actor === null ? null : 9_000 + r.actor.charCodeAt(0),
        actor_name: r.actor,
        ip: r.ip,
        user_agent: 'seed-agent',
        details: JSON.stringify({ n: i }),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(id);
  }
  return ids;
}

async function adminBrowser(app: Parameters<typeof registeredBrowser>[0], runtime: Runtime): Promise<PageBrowser> {
  const admin = await registeredBrowser(app);
  await setRole(runtime, admin.username, 'admin');
  return admin;
}

for (const backend of BACKENDS) {
  test(`[${backend}] a member and a moderator get 403 on /admin/audit, and the denial is itself audited`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const member = await registeredBrowser(app);
    const moderator = await registeredBrowser(app);
    await setRole(runtime, moderator.username, 'moderator');
    await seed(runtime, [{ event: 'login.failure', actor: 'someone@example.com', ip: '10.9.9.9' }]);
    for (const who of [member, moderator]) {
      const res = await who.get('/admin/audit?event=login.failure');
      assert.equal(res.statusCode, 403, who.username);
      assert.doesNotMatch(res.body, /someone@example\.com|audit-\d+/);
    }
    const denials = await runtime.db.kysely
      .selectFrom('audit_log')
      .select(['actor_name', 'details'])
      .where('event', '=', 'authz.deny')
      .orderBy('id')
      .execute();
    assert.deepEqual(
      denials.map((d) => d.actor_name),
      [member.username, moderator.username],
    );
    assert.deepEqual(JSON.parse(denials[1]!.details), { method: 'GET', route: '/admin/audit', need: 'admin' });
  });

  test(`[${backend}] the audit log filters by event, actor and IP prefix, newest first, and pages with the filters kept`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const rows: Seed[] = [];
    for (let i = 0; i < 23; i++) {
      rows.push({
        event: i % 2 === 0 ? 'login.failure' : 'account.lock',
        actor: i % 3 === 0 ? 'Mallory_x' : 'mallory-y',
        ip: i < 12 ? `192.0.2.${i}` : `198.51.100.${i}`,
      });
    }
    const ids = await seed(runtime, rows);
    const expect = (keep: (r: Seed) => boolean): number[] => ids.filter((_, i) => keep(rows[i]!)).reverse();
    const get = async (query: string): Promise<number[]> => {
      const res = await admin.get(`/admin/audit?${query}`);
      assert.equal(res.statusCode, 200, `${query}: ${res.statusCode}`);
      assert.equal(res.headers['cache-control'], 'no-store');
      return auditIds(res.body);
    };

    assert.deepEqual(await get('event=account.lock&actor=mallory'), expect((r) => r.event === 'account.lock').slice(0, 10));
    assert.deepEqual(await get('event=account.lock&actor=mallory&page=2'), expect((r) => r.event === 'account.lock').slice(10));
    assert.deepEqual(
      await get('actor=MALLORY_X'),
      expect((r) => r.actor === 'Mallory_x'),
      'case-insensitive, "_" literal',
    );
    assert.deepEqual(
      await get('actor=mallory_'),
      expect((r) => r.actor === 'Mallory_x'),
      '"_" is not a wildcard',
    );
    assert.deepEqual(await get('actor=%25'), [], '"%" is not a wildcard');
    assert.deepEqual(
      await get('ip=198.51.100.&event=login.failure'),
      expect((r) => r.ip.startsWith('198.51.100.') && r.event === 'login.failure'),
    );
    assert.deepEqual(
      await get('ip=192.0.2.1'),
      expect((r) => r.ip.startsWith('192.0.2.1')),
      'a prefix: .1, .10, .11',
    );

    const all = expect(() => true);
    assert.deepEqual(await get('actor=mallory'), all.slice(0, 10));
    assert.deepEqual(await get('actor=mallory&page=3'), all.slice(20));
    assert.deepEqual(await get('actor=mallory&page=4'), [], 'past the end is an empty page, not an error');
    // A row written before actors were named only by id, its actor the text a client typed.
    await runtime.db.kysely
      .insertInto('audit_log')
      .values({
        at: new Date().toISOString(),
        event: 'login.failure',
        actor_id: null,
        actor_name: 'mallory typed this',
        ip: '192.0.2.99',
        user_agent: 'seed-agent',
        details: '{}',
      })
      .execute();
    assert.deepEqual(await get('actor=typed'), [], 'typed text is no actor to filter by');
    assert.doesNotMatch((await admin.get('/admin/audit?ip=192.0.2.99')).body, /mallory typed this/, 'nor shown as one');
    const page = await admin.get('/admin/audit?event=account.lock&actor=mallory&ip=19');
    assert.match(page.body, /href="\/admin\/audit\?event=account.lock&amp;actor=mallory&amp;ip=19&amp;page=2"/);
    assert.match(page.body, /<option value="account.lock" selected>/);

    // With no filter the newest event (the admin's own registration) comes first.
    const newest = await runtime.db.kysely
      .selectFrom('audit_log')
      .select('id')
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal((await get(''))[0], newest.id);
  });

  test(`[${backend}] a bad audit filter is refused with a 4xx`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const bad = [
      'event=login.everything',
      'event=__proto__',
      `actor=${'a'.repeat(255)}`,
      `ip=${'1'.repeat(65)}`,
      "ip=1.2.3.4'%20or%201=1--",
      'ip=%25',
      'page=0',
      'page=100001',
      'event=login.failure&event=logout',
    ];
    for (const query of bad) {
      const res = await admin.get(`/admin/audit?${query}`);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${query}: ${res.statusCode}`);
    }
  });

  test(`[${backend}] attacker-chosen text in the log is escaped, and no password or token appears on the page`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const victim = await registeredBrowser(app);
    const triedPassword = 'Hunter2-wrong-guess-secret-9731';
    // Through the HTML form: an email that is markup, and a wrong password for a real account.
    const attacker = newBrowser(app);
    await attacker.post('/login', { email: '<img src=x onerror=alert(1)>@example.com', password: triedPassword });
    await attacker.post('/login', { email: victim.email, password: triedPassword });
    // Through the API: a user agent that is markup.
    const apiLogin = await app.inject({
      method: 'POST',
      url: '/api/users/login',
      headers: { 'content-type': 'application/json', 'user-agent': '<script>alert(2)</script>' },
      payload: JSON.stringify({ user: { email: victim.email, password: triedPassword } }),
    });
    assert.equal(apiLogin.statusCode, 401);
    // A token in use: the log names the user, never the token.
    const token = await app.apiTokens.issue(
      (await runtime.db.kysely.selectFrom('users').select('id').where('username', '=', victim.username).executeTakeFirstOrThrow()).id,
    );
    assert.equal((await app.inject({ url: '/api/user', headers: { authorization: `Token ${token}` } })).statusCode, 200);

    const page = await admin.get('/admin/audit?event=login.failure');
    assert.equal(page.statusCode, 200);
    assert.equal(auditIds(page.body).length, 3);
    assert.match(page.body, /&lt;img src=x onerror=alert\(1\)&gt;@example\.com/);
    assert.match(page.body, /&lt;script&gt;alert\(2\)&lt;\/script&gt;/);
    assert.doesNotMatch(page.body, /<img src=x|<script>alert/);
    const everything = await admin.get('/admin/audit');
    for (const secret of [triedPassword, victim.password, admin.password, token])
      assert.ok(!everything.body.includes(secret), 'no secret on the page');
  });

  test(`[${backend}] actors are named only by account id: what a client typed at login stays a clipped detail and is never shown as an actor`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const victim = await registeredBrowser(app);
    const victimId = (
      await runtime.db.kysely.selectFrom('users').select('id').where('username', '=', victim.username).executeTakeFirstOrThrow()
    ).id;
    const lookalike = `${admin.username} #2`; // reads like a real actor
    const typedPassword = `Hunter2-typed-into-the-email-field-${'x'.repeat(120)}`;
    const attacker = newBrowser(app);
    assert.equal((await attacker.post('/login', { email: lookalike, password: 'wrong password 1' })).statusCode, 422);
    assert.equal((await attacker.post('/login', { email: typedPassword, password: 'wrong password 2' })).statusCode, 422);
    assert.equal((await attacker.post('/login', { email: victim.email.toUpperCase(), password: 'wrong password 3' })).statusCode, 422);
    const viaApi = await app.inject({
      method: 'POST',
      url: '/api/users/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ user: { email: 'ceo@example.com', password: 'wrong password 4' } }),
    });
    assert.equal(viaApi.statusCode, 401);
    // Two more from the same browser: the per-IP limit refuses the sixth (a ratelimit.hit).
    for (let i = 0; i < 2; i++) await attacker.post('/login', { email: lookalike, password: 'wrong password 5' });
    assert.equal((await attacker.post('/login', { email: lookalike, password: 'wrong password 6' })).statusCode, 429);

    const rows = await runtime.db.kysely
      .selectFrom('audit_log')
      .select(['event', 'actor_id', 'actor_name', 'details'])
      .where('event', 'in', ['login.failure', 'ratelimit.hit', 'login.lockout'])
      .orderBy('id')
      .execute();
    const typed = rows.map((r) => ({
      event: r.event,
      actorId: r.actor_id,
      actorName: r.actor_name,
      identifier: (JSON.parse(r.details) as { identifier?: string }).identifier,
    }));
    assert.deepEqual(typed.slice(0, 4), [
      { event: 'login.failure', actorId: null, actorName: null, identifier: lookalike },
      {
        event: 'login.failure',
        actorId: null,
        actorName: null,
        identifier: `${typedPassword.toLowerCase().slice(0, TYPED_IDENTIFIER_MAX)}…`,
      }, // normalized as an email is, then clipped
      { event: 'login.failure', actorId: victimId, actorName: victim.username, identifier: victim.email },
      { event: 'login.failure', actorId: null, actorName: null, identifier: 'ceo@example.com' },
    ]);
    const hit = typed.find((r) => r.event === 'ratelimit.hit');
    assert.deepEqual(hit, { event: 'ratelimit.hit', actorId: null, actorName: null, identifier: lookalike.toLowerCase() });
    for (const r of rows) assert.ok(r.actor_name === null || r.actor_name === victim.username, `actor ${r.actor_name}`);

    const page = await admin.get('/admin/audit');
    assert.equal(page.statusCode, 200);
    const actors = [...page.body.matchAll(/<td data-label="Actor">([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
    assert.ok(actors.length >= 8, `${actors.length} rows`);
    for (const actor of actors) {
      assert.ok(!actor.includes(lookalike), `an actor cell shows what was typed: ${actor}`);
      assert.doesNotMatch(actor, /hunter2|ceo@|@example\.com/i, `an actor cell shows what was typed: ${actor}`);
    }
    assert.ok(page.body.includes(lookalike), 'the typed text is still there to read, as a detail');
    assert.ok(!page.body.toLowerCase().includes(typedPassword.toLowerCase()), 'never the whole of a long typed text');
    const byActor = await admin.get(`/admin/audit?actor=${encodeURIComponent('#2')}`);
    assert.equal(auditIds(byActor.body).length, 0, 'no actor is called by what was typed');
  });
}
