import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql, type Compilable, type Kysely } from 'kysely';
import { type Database, type Db, ClientGoneError, type ScanOptions } from 'bastion';

// Scans that never end, for the tests of what stops them (a deadline, a client hanging up) and
// of what must not wait behind them. Each is a real statement on the real reader thread or
// PostgreSQL connection: counting an endless recursion, built by the query builder like every
// scan of the app (so on SQLite it carries the same per-row checkpoints).

/**
 * `select count(*) from c` over c = 1, 2, 3, … without end. `tag` names its result column, so
 * that pg_stat_activity (one for every test running at the time) tells this test's statement apart.
 */
export function endlessCount(db: Kysely<Database>, tag = 'n') {
  return db
    .withRecursive('c(n)', (qb) =>
      qb.selectNoFrom(sql<number>`1`.as('n')).unionAll((qb) => qb.selectFrom('c').select(sql<number>`n + 1`.as('n'))),
    )
    .selectFrom('c')
    .select((eb) => eb.fn.countAll<number>().as(tag));
}

/** How many backends run an endless count tagged `tag` now (PostgreSQL). */
export async function endlessRunning(db: Kysely<Database>, tag: string): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`select count(*) as n from pg_stat_activity where state = 'active' and query like ${`%${tag}%`} and pid <> pg_backend_pid()`.execute(
    db,
  );
  return Number(rows[0]!.n);
}

/**
 * Every scan whose bound values mention `word` (a search for it) runs endlessCount instead, on
 * the same path with the same options; `stop` also calls them off (so a test can end them).
 * Returns how many such scans have started. Put back when the test ends.
 */
export function endlessScansFor(
  t: { after(fn: () => void): void },
  db: Db,
  word: string,
  stop?: AbortSignal,
): { started: () => number; tag: string } {
  const tag = `endless_${randomBytes(6).toString('hex')}`;
  const unwrapped = db.scan;
  const original: Db['scan'] = db.scan.bind(db);
  let started = 0;
  db.scan = <R>(query: Compilable<R>, options?: ScanOptions): Promise<R[]> => {
    if (!JSON.stringify(query.compile().parameters).includes(word)) return original(query, options);
    started++;
    let signal = options?.signal;
    if (stop !== undefined) {
      // Either the request's signal or `stop` calls it off (held by these listeners, unlike AbortSignal.any's).
      const either = new AbortController();
      for (const source of [stop, options?.signal]) {
        if (source === undefined) continue;
        // Answered as a hang-up is (ClientGoneError, 499), whichever of them it was.
        if (source.aborted) either.abort(new ClientGoneError());
        else source.addEventListener('abort', () => either.abort(new ClientGoneError()), { once: true });
      }
      signal = either.signal;
    }
    return original(endlessCount(db.kysely, tag), { ...options, ...(signal === undefined ? {} : { signal }) }) as Promise<never>;
  };
  t.after(() => (db.scan = unwrapped));
  return { started: () => started, tag };
}

/** Waits a turn of the event loop at a time until `done()`; fails saying `what()` after 20 s. */
export async function until(done: () => boolean | Promise<boolean>, what: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, what());
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
