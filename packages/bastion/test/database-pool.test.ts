import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/config/load-config.js';
import { openDatabase, STATEMENT_TIMEOUT_MS, type Db, type DbOptions } from '../src/db/database.js';
import { BACKENDS, isolate, randomKey } from '../src/testing/backends.js';

// The PostgreSQL pool every instance holds: as large as DATABASE_POOL_MAX says (N instances
// times that must fit the server's max_connections), and a slow statement cannot take a pooled
// connection away from the requests after it. SQLite has no pool: one file, one connection.

const SKIP = BACKENDS.includes('postgres') ? false : 'BASTION_TEST_BACKENDS excludes postgres: the pool is PostgreSQL only';

async function open(t: TestContext, env: Record<string, string> = {}, options: Omit<DbOptions, 'searchPath'> = {}): Promise<Db> {
  const iso = await isolate('postgres');
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env, ...env }, dotenvPath: null });
  const db = openDatabase(config, { ...(iso.searchPath ? { searchPath: iso.searchPath } : {}), ...options });
  t.after(async () => {
    await db.close();
    await iso.cleanup();
  });
  return db;
}

test('[postgres] the pool opens at most DATABASE_POOL_MAX connections however many queries wait', { skip: SKIP }, async (t) => {
  const db = await open(t, { DATABASE_POOL_MAX: '2' });
  const rows = await Promise.all(
    Array.from({ length: 8 }, () => sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.1)`.execute(db.kysely)),
  );
  const backends = new Set(rows.map((r) => r.rows[0]!.pid));
  assert.equal(backends.size, 2, `8 concurrent queries ran on ${backends.size} server connections`);
});

test(
  '[postgres] a runaway statement is cancelled by the server and its pooled connection serves the next query',
  { skip: SKIP },
  async (t) => {
    // One connection: if the slow statement kept it, the next query would have nowhere to run.
    const db = await open(t, { DATABASE_POOL_MAX: '1' });
    const started = Date.now();
    await assert.rejects(sql`select pg_sleep(60)`.execute(db.kysely), (err: { code?: string }) => {
      assert.equal(err.code, '57014', 'cancelled by statement_timeout on the server, not abandoned by the client');
      return true;
    });
    assert.ok(Date.now() - started >= STATEMENT_TIMEOUT_MS - 1_000);
    const after = await sql<{ one: number }>`select 1 as one`.execute(db.kysely);
    assert.equal(after.rows[0]!.one, 1);
    const idle = await sql<{ v: string }>`select current_setting('idle_in_transaction_session_timeout') as v`.execute(db.kysely);
    assert.equal(idle.rows[0]!.v, '30s', 'an abandoned transaction cannot hold its locks');
  },
);

test(
  '[postgres] the migration connection has no statement timeout (slow DDL and the migration lock may take long)',
  { skip: SKIP },
  async (t) => {
    const db = await open(t, {}, { forMigrations: true });
    const rows = await sql<{ v: string }>`select current_setting('statement_timeout') as v`.execute(db.kysely);
    assert.equal(rows.rows[0]!.v, '0');
  },
);
