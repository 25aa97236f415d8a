import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { type Config, type Db, loadConfig } from 'bastion';
import { BACKENDS, PG_URL, isolate, type BackendName, createAdmin, openDatabase } from 'bastion/testing';
import { runBin } from './helpers/run-bin.js';

// `bastion create-admin` is the only way an admin comes to exist; there are no default
// credentials. Driven through the real CLI, as an operator would, on both databases.

const STRONG = 'violet-anchor-Orbit-7-canyon';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Cli {
  run(args: string[], stdin: string): Promise<Run>;
  /** Opens the same database the CLI used. */
  db(): Db;
  /** The configuration the CLI reads, for calling createAdmin in this process. */
  config(): Config;
}

async function cli(t: TestContext, backend: BackendName): Promise<Cli> {
  const iso = await isolate(backend);
  t.after(() => iso.cleanup());
  const env: Record<string, string> = { DATA_DIR: iso.dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' };
  // The CLI has no search-path option; libpq's `options` puts it in its own schema.
  if (iso.searchPath) env.DATABASE_URL = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${iso.searchPath}`)}`;
  const dbs: Db[] = [];
  t.after(() => Promise.all(dbs.map((d) => d.close())));
  return {
    run: (args, stdin) => runBin(args, { PATH: process.env.PATH ?? '', ...env }, stdin),
    db() {
      const { config } = loadConfig({ env: { ...env, DATABASE_URL: iso.searchPath ? PG_URL : '' }, dotenvPath: null });
      const db = openDatabase(config, iso.searchPath ? { searchPath: iso.searchPath } : {});
      dbs.push(db);
      return db;
    },
    config: () => loadConfig({ env, dotenvPath: null }).config,
  };
}

const users = (db: Db) => db.kysely.selectFrom('users').select(['username', 'email', 'role', 'password_hash']).orderBy('id').execute();

for (const backend of BACKENDS) {
  test(`[${backend}] a fresh database has zero users: no default or sample credentials exist`, async (t) => {
    const c = await cli(t, backend);
    const migrated = await c.run(['migrate'], '');
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.deepEqual(await users(c.db()), []);
  });

  test(`[${backend}] create-admin makes an admin from a password on stdin, hashed with argon2id and never echoed`, async (t) => {
    const c = await cli(t, backend);
    const res = await c.run(['create-admin', '--username', 'root_admin', '--email', 'Root@Example.com'], `${STRONG}\n`);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /admin root_admin created/);
    assert.ok(!res.stdout.includes(STRONG) && !res.stderr.includes(STRONG), 'the password is never printed');
    const db = c.db();
    const [admin, ...others] = await users(db);
    assert.deepEqual(others, []);
    assert.equal(admin?.role, 'admin');
    assert.equal(admin?.email, 'root@example.com');
    assert.match(admin?.password_hash ?? '', /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    const audit = await db.kysely.selectFrom('audit_log').select(['event', 'actor_name', 'details']).execute();
    assert.deepEqual(audit, [{ event: 'admin.created', actor_name: 'root_admin', details: '{}' }]);
  });

  test(`[${backend}] create-admin refuses a short, a common or a name-like password`, async (t) => {
    const c = await cli(t, backend);
    assert.equal((await c.run(['migrate'], '')).code, 0);
    const weak = ['short-pw', 'qwerty123456', '1qaz2wsx3edc!', 'root_admin2024'];
    const runs = await Promise.all(
      weak.map((pw) => c.run(['create-admin', '--username', 'root_admin', '--email', 'root@example.com'], `${pw}\n`)),
    );
    runs.forEach((res, i) => {
      assert.equal(res.code, 1, weak[i]);
      assert.match(res.stderr, /^password /m, weak[i]);
      assert.ok(!res.stderr.includes(weak[i]!), 'the refused password is not echoed');
    });
    assert.deepEqual(await users(c.db()), []);
  });

  test(`[${backend}] create-admin refuses a duplicate username or email, and missing arguments`, async (t) => {
    const c = await cli(t, backend);
    assert.equal((await c.run(['create-admin', '--username', 'root_admin', '--email', 'root@example.com'], STRONG)).code, 0);
    const sameName = await c.run(['create-admin', '--username', 'root_admin', '--email', 'other@example.com'], STRONG);
    assert.equal(sameName.code, 1);
    assert.match(sameName.stderr, /username has already been taken/);
    const sameEmail = await c.run(['create-admin', '--username', 'other', '--email', 'ROOT@example.com'], STRONG);
    assert.equal(sameEmail.code, 1);
    assert.match(sameEmail.stderr, /email has already been taken/);
    const missing = await Promise.all(
      [['--username', 'x'], ['--email', 'x@example.com'], []].map((args) => c.run(['create-admin', ...args], STRONG)),
    );
    for (const res of missing) {
      assert.equal(res.code, 2);
      assert.match(res.stderr, /needs --username and --email/);
    }
    const bad = await c.run(['create-admin', '--username', '<script>', '--email', 'not-an-email'], STRONG);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /username /);
    assert.match(bad.stderr, /email is invalid/);
    assert.equal((await users(c.db())).length, 1);
  });

  test(`[${backend}] create-admin refuses a username taken in another case, with a clear error and exit 1`, async (t) => {
    const c = await cli(t, backend);
    assert.equal((await c.run(['create-admin', '--username', 'root_admin', '--email', 'root@example.com'], STRONG)).code, 0);
    for (const username of ['Root_Admin', 'ROOT_ADMIN']) {
      const res = await c.run(['create-admin', '--username', username, '--email', `${username.toLowerCase()}2@example.com`], STRONG);
      assert.equal(res.code, 1, username);
      assert.equal(res.stderr, 'username has already been taken\n');
    }
    assert.deepEqual(
      (await users(c.db())).map((u) => u.username),
      ['root_admin'],
    );
  });

  test(`[${backend}] two create-admin runs racing for "Root" and "root": the database lets one in, the other is told the name is taken`, async (t) => {
    const c = await cli(t, backend);
    assert.equal((await c.run(['migrate'], '')).code, 0);
    // Both read "free" before either writes (each hashes in between): only the unique index can decide.
    const config = c.config();
    const results = await Promise.all(
      ['Root', 'root'].map((username, i) =>
        createAdmin(config, { username, email: `admin${i}@example.com`, password: STRONG }, conduitMigrations),
      ),
    );
    assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results));
    assert.deepEqual(
      results.find((r) => !r.ok),
      { ok: false, errors: { username: ['has already been taken'] } },
    );
    assert.equal((await users(c.db())).length, 1);
  });
}
