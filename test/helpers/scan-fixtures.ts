import assert from 'node:assert/strict';
import { sql, type Compilable, type Kysely } from 'kysely';
import type { Db, ScanOptions } from '../../src/db/database.js';
import type { Database } from '../../src/db/schema.js';

// Scans that never end, for the tests of what stops them (a deadline, a client hanging up) and
// of what must not wait behind them. Each is a real statement on the real reader thread or
// PostgreSQL connection: counting an endless recursion, built by the query builder like every
// scan of the app (so on SQLite it carries the same per-row checkpoints).

/** `select count(*) from c` over c = 1, 2, 3, … without end. */
export function endlessCount(db: Kysely<Database>) {
  return db
    .withRecursive('c(n)', (qb) => qb.selectNoFrom(sql<number>`1`.as('n')).unionAll((qb) => qb.selectFrom('c').select(sql<number>`n + 1`.as('n'))))
    .selectFrom('c')
    .select((eb) => eb.fn.countAll<number>().as('n'));
}

/**
 * Every scan whose bound values mention `word` (a search for it) runs endlessCount instead, on
 * the same path with the same options; `stop` also calls them off (so a test can end them).
 * Returns how many such scans have started. Put back when the test ends.
 */
export function endlessScansFor(t: { after(fn: () => void): void }, db: Db, word: string, stop?: AbortSignal): { started: () => number } {
  const unwrapped = db.scan;
  const original: Db['scan'] = db.scan.bind(db);
  let started = 0;
  db.scan = <R>(query: Compilable<R>, options?: ScanOptions): Promise<R[]> => {
    if (!JSON.stringify(query.compile().parameters).includes(word)) return original(query, options);
    started++;
    const signal = stop === undefined ? options?.signal : options?.signal === undefined ? stop : AbortSignal.any([options.signal, stop]);
    return original(endlessCount(db.kysely), { ...options, ...(signal === undefined ? {} : { signal }) }) as Promise<never>;
  };
  t.after(() => (db.scan = unwrapped));
  return { started: () => started };
}

/** Waits a turn of the event loop at a time until `done()`; fails saying `what()` after 20 s. */
export async function until(done: () => boolean | Promise<boolean>, what: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, what());
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
