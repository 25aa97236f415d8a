import type BetterSqlite3 from 'better-sqlite3';
import type { PostgresPool, PostgresPoolClient, SqliteDatabase } from 'kysely';
import type pg from 'pg';
import type { QueryDeadlines } from './query-deadline.js';

// Kysely hands every query to the driver as SQL text; by default both drivers parse (and
// SQLite compiles, PostgreSQL plans) that text again on every execution. The app runs the same
// few dozen statements all day, so each connection keeps its prepared statements, keyed by the
// SQL text Kysely produced (values stay bound parameters). Both caches are bounded: text that
// varies (an IN list of another length) cannot grow them without limit.

export const STATEMENT_CACHE_SIZE = 500;
const QUERY = /^\s*(?:select|insert|update|delete|with)\b/i;

/** better-sqlite3 as Kysely's SqliteDialect sees it, reusing prepared statements (least recently used dropped first). */
export function cachingSqlite(db: BetterSqlite3.Database, max = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (statement) {
        statements.delete(sql); // re-inserted below: most recently used last
      } else {
        statement = db.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}

/**
 * A pg pool whose clients run each distinct SQL text as a named prepared statement (parsed and
 * planned once per connection). Texts past `max` run unnamed, as before. Each query runs under
 * `deadlines`.
 */
export function namedStatementsPool(pool: pg.Pool, deadlines: QueryDeadlines, max = STATEMENT_CACHE_SIZE): PostgresPool {
  const names = new Map<string, string>();
  const nameFor = (sql: string): string | undefined => {
    // Only plain queries: DDL and transaction control keep the simple path.
    if (!QUERY.test(sql)) return undefined;
    let name = names.get(sql);
    if (name === undefined && names.size < max) {
      name = `k${names.size + 1}`;
      names.set(sql, name);
    }
    return name;
  };
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let wrapper = wrappers.get(client);
    if (!wrapper) {
      wrapper = {
        query: ((sqlOrCursor: string | object, parameters?: readonly unknown[]) => {
          if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as pg.Submittable);
          const name = nameFor(sqlOrCursor);
          const query: pg.QueryConfig = { text: sqlOrCursor, values: [...(parameters ?? [])] };
          if (name !== undefined) query.name = name;
          return deadlines.run(client, query);
        }) as unknown as PostgresPoolClient['query'],
        release: (destroy?: boolean) => client.release(destroy),
      };
      wrappers.set(client, wrapper);
    }
    return wrapper;
  };
  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
    // Kysely 0.29 reads the pool's options only to open a control connection when a query is
    // aborted through Kysely (which we do not do: deadlines are ours, packages/bastion/src/db/query-deadline.ts).
    options: pool.options,
  };
}
