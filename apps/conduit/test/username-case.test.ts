import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Migrator } from 'kysely/migration';
import argon2 from 'argon2';
import type { Db } from 'bastion';
import { type BackendName, BACKENDS, newBrowser, registeredBrowser } from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { unmigratedDatabase } from './helpers/migration-db.js';
import { preSplitMigrations } from './fixtures/pre-split-migrations.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// Usernames are unique regardless of case, so "Carol" cannot pose as "carol". The services read
// before they write, and two registrations at the same moment both passed that read: the
// database now decides (a unique index on lower(username), migration 007), and the loser gets
// the RealWorld 422. Emails were already safe: stored lower-cased under a unique index. The
// database refusing a case twin whatever code writes it, and the refusal naming the field:
// packages/bastion/test/username-case.test.ts.

const TAKEN = { username: ['has already been taken'] };

let address = 0;
/** Each registration from its own client address, as a crowd would send them (and under the per-IP limit). */
function register(app: FastifyInstance, user: { username: string; email: string }) {
  address++;
  return app.inject({
    method: 'POST',
    url: '/api/users',
    remoteAddress: `198.18.${address >> 8}.${address & 255}`,
    payload: { user: { ...user, password: STRONG_PASSWORD } },
  });
}

/** A database migrated up to 006 only, as the release before left it (the list before the split, apps/conduit/test/fixtures); `upgrade` applies 007. */
async function olderDatabase(
  t: { after(fn: () => Promise<void>): void },
  backend: BackendName,
): Promise<{ db: Db; upgrade(): Promise<void> }> {
  const { db } = await unmigratedDatabase(t, backend, null);
  const provider = { getMigrations: async () => preSplitMigrations(db) };
  const migrator = new Migrator({ db: db.kysely, provider, ...(db.schema ? { migrationTableSchema: db.schema } : {}) });
  const migrate = async (target: string) => {
    const { error, results } = await migrator.migrateTo(target);
    assert.equal(error, undefined, String(error));
    return results;
  };
  await migrate('006-article-tag-list');
  return {
    db,
    async upgrade() {
      assert.deepEqual(
        (await migrate('007-username-case'))?.map((r) => [r.migrationName, r.status]),
        [['007-username-case', 'Success']],
      );
    },
  };
}

for (const backend of BACKENDS) {
  test(`[${backend}] "Carol" and "carol" registered at the same moment: exactly one succeeds, the other gets 422`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    // Both requests pass the service's read before either inserts (each hashes in between), so
    // only the database can tell them apart. Several rounds, each pair fired together.
    for (const [round, names] of [
      ['Carol', 'carol'],
      ['DAVE', 'dave'],
      ['erin_x', 'Erin_X'],
    ].entries()) {
      const answers = await Promise.all(names.map((username, i) => register(app, { username, email: `race${round}_${i}@example.com` })));
      const statuses = answers.map((a) => a.statusCode).sort();
      assert.deepEqual(statuses, [201, 422], `${names.join(' / ')}: ${answers.map((a) => a.body).join(' ')}`);
      assert.deepEqual(answers.find((a) => a.statusCode === 422)!.json().errors, TAKEN);
    }
    const names = (await runtime.db.kysely.selectFrom('users').select('username').execute()).map((u) => u.username.toLowerCase()).sort();
    assert.deepEqual(names, ['carol', 'dave', 'erin_x']);
  });

  test(`[${backend}] the register form, raced the same way, makes one account: the late name is refused on the page or, past the form's check, dropped and audited`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const visitors = ['Frank', 'frank'].map((username) => newBrowser(app, { username }));
    const tokens = await Promise.all(visitors.map((v) => v.csrf('/register')));
    const answers = await Promise.all(
      visitors.map((v, i) =>
        v.post(
          '/register',
          { username: v.username, email: `frank${i}@example.com`, password: v.password, _csrf: tokens[i]! },
          { csrf: false },
        ),
      ),
    );
    await app.signUps.settled();
    // The form checks the name before answering and the account is written after it
    // (packages/bastion/src/accounts/sign-up.ts): both may pass the check, and then the database's unique index decides.
    const statuses = answers.map((a) => a.statusCode).sort();
    assert.ok(statuses[0] === 303 && (statuses[1] === 303 || statuses[1] === 422), `one sign-up went through (${statuses.join(', ')})`);
    const refused = answers.find((a) => a.statusCode === 422);
    if (refused) assert.match(refused.body, /<li>username has already been taken<\/li>/);
    assert.equal((await runtime.db.kysely.selectFrom('users').select('id').execute()).length, 1);
    if (!refused) {
      const raced = await runtime.db.kysely
        .selectFrom('audit_log')
        .select('details')
        .where('event', '=', 'register')
        .where('actor_id', 'is', null)
        .execute();
      assert.deepEqual(
        raced.map((r) => (JSON.parse(r.details) as { outcome: string }).outcome),
        ['name-raced'],
      );
    }
  });

  test(`[${backend}] two registrations racing for one address in different case: one account, one 422 on email`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const answers = await Promise.all([
      register(app, { username: 'gina_one', email: 'Gina@Example.com' }),
      register(app, { username: 'gina_two', email: 'gina@example.com' }),
    ]);
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [201, 422]);
    assert.deepEqual(answers.find((a) => a.statusCode === 422)!.json().errors, { email: ['has already been taken'] });
    assert.deepEqual(await runtime.db.kysely.selectFrom('users').select('email').execute(), [{ email: 'gina@example.com' }]);
  });

  test(`[${backend}] renaming oneself to another user's name in another case is refused with 422, through the API and the settings form`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    await makeUser(app, runtime, 'Hana');
    const ivan = await makeUser(app, runtime, 'ivan');
    for (const username of ['hana', 'HANA', 'hAnA']) {
      const res = await api(app, 'PUT', '/api/user', { user: ivan, body: { user: { username, email: ivan.email } } });
      assert.equal(res.statusCode, 422, username);
      assert.deepEqual(res.json().errors, TAKEN);
    }
    await registeredBrowser(app, { username: 'Quinn' });
    const other = await registeredBrowser(app);
    const form = await other.post('/settings', { image: '', username: 'qUINN', bio: '', email: other.email }, { from: '/settings' });
    assert.equal(form.statusCode, 422);
    assert.match(form.body, /<li>username has already been taken<\/li>/);
    // Two members renaming themselves to "Judy" and "judy" at the same moment: one gets it.
    const kim = await makeUser(app, runtime, 'kim');
    const answers = await Promise.all([
      api(app, 'PUT', '/api/user', { user: ivan, body: { user: { username: 'Judy' } } }),
      api(app, 'PUT', '/api/user', { user: kim, body: { user: { username: 'judy' } } }),
    ]);
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 422]);
    assert.deepEqual(answers.find((a) => a.statusCode === 422)!.json().errors, TAKEN);
  });

  test(`[${backend}] migration 007 keeps the oldest of each case twin, renames the later ones deterministically and audits it`, async (t) => {
    const { db, upgrade } = await olderDatabase(t, backend);
    const hash = await argon2.hash(STRONG_PASSWORD);
    const now = new Date().toISOString();
    const long = 'p'.repeat(32);
    // In insertion (id) order; "carol-2" is taken, so the second carol needs another suffix.
    const names = ['carol', 'carol-2', 'Carol', 'CAROL', 'dave', long, long.toUpperCase(), 'Dave'];
    const ids: number[] = [];
    for (const username of names) {
      const row = await db.kysely
        .insertInto('users')
        .values({
          username,
          email: `${ids.length}@example.com`,
          password_hash: hash,
          bio: '',
          image: null,
          role: 'member',
          locked_at: null,
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(row.id);
    }
    await conduitDb(db)
      .insertInto('articles')
      .values({
        slug: 'kept',
        title: 't',
        description: 'd',
        body: 'b',
        body_html: '<p>b</p>',
        author_id: ids[3]!,
        created_at: now,
        updated_at: now,
      })
      .execute();

    await upgrade();

    const after = await db.kysely.selectFrom('users').select(['id', 'username', 'email', 'password_hash']).orderBy('id').execute();
    const [carol, carol2, Carol, CAROL, dave, p, P, Dave] = ids;
    assert.deepEqual(
      after.map((u) => [u.id, u.username]),
      [
        [carol, 'carol'],
        [carol2, 'carol-2'],
        [Carol, `Carol-${Carol}`],
        [CAROL, `CAROL-${CAROL}`],
        [dave, 'dave'],
        [p, long],
        [P, `${'P'.repeat(32 - `-${P}`.length)}-${P}`],
        [Dave, `Dave-${Dave}`],
      ],
    );
    assert.ok(
      after.every((u, i) => u.email === `${i}@example.com` && u.password_hash === hash),
      'nothing else about any account changed',
    );
    assert.equal(
      (await conduitDb(db).selectFrom('articles').select('author_id').executeTakeFirstOrThrow()).author_id,
      CAROL,
      'a renamed account keeps its content',
    );

    const audit = await db.kysely.selectFrom('audit_log').select(['event', 'ip', 'details']).orderBy('id').execute();
    assert.deepEqual(
      audit.map((a) => [a.event, a.ip, JSON.parse(a.details).targetId, JSON.parse(a.details).from, JSON.parse(a.details).to]),
      [Carol, CAROL, P, Dave].map((id) => [
        'username.rename',
        'migration',
        id,
        names[ids.indexOf(id!)],
        after.find((u) => u.id === id)!.username,
      ]),
    );

    const twin = await db.kysely
      .insertInto('users')
      .values({
        username: 'cArOl',
        email: 'x@example.com',
        password_hash: hash,
        bio: '',
        image: null,
        role: 'member',
        locked_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute()
      .catch((err: unknown) => err);
    // Refused by migration 007's index on lower(username), whose refusal the stack answers as the
    // username taken (packages/bastion/test/username-case.test.ts).
    assert.ok(twin instanceof Error, 'the index holds from now on');
    assert.match(twin.message, /users_username_lower/, 'the index holds from now on');
  });

  test(`[${backend}] migration 007 on a database without case twins renames nothing`, async (t) => {
    const { db, upgrade } = await olderDatabase(t, backend);
    const now = new Date().toISOString();
    for (const username of ['oscar', 'Oscar_2', 'pia']) {
      await db.kysely
        .insertInto('users')
        .values({
          username,
          email: `${username}@example.com`,
          password_hash: 'x',
          bio: '',
          image: null,
          role: 'member',
          locked_at: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    await upgrade();
    assert.deepEqual(
      (await db.kysely.selectFrom('users').select('username').orderBy('id').execute()).map((u) => u.username),
      ['oscar', 'Oscar_2', 'pia'],
    );
    assert.deepEqual(await db.kysely.selectFrom('audit_log').select('id').execute(), []);
  });
}
