import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { isDependencyUnavailable } from '../src/http/dependency-errors.js';
import { BACKENDS, PG_URL } from '../src/testing/backends.js';

// Overload answers 503 (try again), not 500 (a bug): proven on the real errors the drivers
// raise, and a programming error is still not mistaken for an outage.

async function errorOf(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}

if (BACKENDS.includes('postgres')) {
  test('[postgres] a statement cancelled by statement_timeout counts as unavailable; a syntax error does not', async (t) => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    t.after(() => client.end());
    await client.query('set statement_timeout = 50');
    const cancelled = await errorOf(() => client.query('select pg_sleep(2)'));
    assert.equal((cancelled as { code?: string }).code, '57014');
    assert.equal(isDependencyUnavailable(cancelled), true);
    const bug = await errorOf(() => client.query('selec 1'));
    assert.equal(isDependencyUnavailable(bug), false);
  });

  test('[postgres] a transaction aborted as the loser of a deadlock counts as unavailable (try again)', async (t) => {
    const [a, b] = [new pg.Client({ connectionString: PG_URL }), new pg.Client({ connectionString: PG_URL })];
    await Promise.all([a.connect(), b.connect()]);
    t.after(() => Promise.all([a.end(), b.end()]));
    // Two transaction-scoped advisory locks taken crosswise: no table needed, nothing left behind.
    const [first, second] = [Math.floor(Math.random() * 1e9), Math.floor(Math.random() * 1e9) + 1e9];
    const lock = 'select pg_advisory_xact_lock($1)';
    await Promise.all([a.query('begin'), b.query('begin')]);
    await a.query(lock, [first]);
    await b.query(lock, [second]);
    // Each now waits for the lock the other holds: PostgreSQL aborts one of them.
    const outcomes = await Promise.allSettled([a.query(lock, [second]), b.query(lock, [first])]);
    await Promise.all([a.query('rollback'), b.query('rollback')]);
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as { code?: string });
    assert.equal(lost.length, 1, 'exactly one side loses');
    assert.equal(lost[0]!.code, '40P01');
    assert.equal(isDependencyUnavailable(lost[0]), true);
  });
}

if (BACKENDS.includes('sqlite')) {
  test('[sqlite] a write still locked out after busy_timeout counts as unavailable; a constraint error does not', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-busy-'));
    const holder = new SQLite(join(dir, 'db.sqlite'));
    const waiter = new SQLite(join(dir, 'db.sqlite'));
    t.after(() => {
      holder.close();
      waiter.close();
      rmSync(dir, { recursive: true, force: true });
    });
    holder.exec('create table t (id integer primary key)');
    waiter.pragma('busy_timeout = 20');
    holder.exec('begin immediate');
    let busy: unknown;
    try {
      waiter.exec('insert into t (id) values (1)');
    } catch (err) {
      busy = err;
    }
    holder.exec('rollback');
    assert.match(String((busy as { code?: string }).code), /^SQLITE_BUSY/);
    assert.equal(isDependencyUnavailable(busy), true);
    waiter.exec('insert into t (id) values (1)');
    let duplicate: unknown;
    try {
      waiter.exec('insert into t (id) values (1)');
    } catch (err) {
      duplicate = err;
    }
    assert.equal(isDependencyUnavailable(duplicate), false);
  });
}
