import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type Compilable, type QueryId, type RootOperationNode } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/config.js';
import type { Database } from './schema.js';
import { cachingSqlite, namedStatementsPool } from './statement-cache.js';
import { BastionSqliteDialect } from './sqlite-dialect.js';
import { QueryDeadlines } from './query-deadline.js';
import { scanWithDeadline } from './pg-scan.js';
import { SCAN_TIMEOUT_MS } from './scan-deadline.js';
import { SCAN_THREADS, ScanReaders } from './scan-readers.js';
import { OwnSchemaPostgresDialect } from './pg-introspector.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: DialectName;
  /** PostgreSQL: the schema given as search path, if any (the migrator must look only there). */
  readonly schema?: string;
  /**
   * A read that may scan many rows: on SQLite on a worker thread with a read-only connection of
   * its own (packages/bastion/src/db/scan-readers.ts), so the event loop goes on answering; on PostgreSQL, whose
   * queries never hold the event loop, on the pool like any other. Either way it is stopped at
   * its deadline (ScanTimeoutError, packages/bastion/src/db/scan-deadline.ts) or when `signal` aborts.
   */
  scan<R>(query: Compilable<R>, options?: ScanOptions): Promise<R[]>;
  close(): Promise<void>;
}

/**
 * Whose scan it is. The admin's listings (the pages that lock an attacker out) read on SQLite
 * threads of their own, so a crowd of public searches cannot hold them up.
 */
export type ScanLane = 'public' | 'admin';

export interface ScanOptions {
  readonly lane?: ScanLane;
  /** Aborts when the request's client is gone: the scan is called off. */
  readonly signal?: AbortSignal;
}

/** An admin's scans need no more than one thread: there are few admins, and a listing is one scan at a time. */
const ADMIN_SCAN_THREADS = 1;

export interface DbOptions {
  /** PostgreSQL only: the schema to use (tests give each app its own). */
  readonly searchPath?: string;
  /**
   * PostgreSQL only: one connection without the request timeouts below, for schema migrations
   * (DDL on a big table, or waiting for another instance's migration lock, may rightly be slow).
   */
  readonly forMigrations?: boolean;
  /** PostgreSQL only: how long a request's query may go unanswered (QUERY_TIMEOUT_MS; tests shorten it). */
  readonly queryTimeoutMs?: number;
  /** How long one scan may run (SCAN_TIMEOUT_MS; tests shorten it). */
  readonly scanTimeoutMs?: number;
}

/** Request queries: the server cancels a statement after this, the client stops waiting later. */
export const STATEMENT_TIMEOUT_MS = 10_000;
export const QUERY_TIMEOUT_MS = 15_000;

/** Opens the embedded SQLite file, or PostgreSQL when DATABASE_URL is postgres://. */
export function openDatabase(config: Config, options: DbOptions = {}): Db {
  return config.databaseUrl === null ? openSqlite(join(config.dataDir, 'bastion.db'), options) : openPostgres(config, options);
}

export function sqlitePath(config: Config): string {
  return join(config.dataDir, 'bastion.db');
}

function openSqlite(file: string, options: DbOptions): Db {
  const dir = join(file, '..');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const sqlite = new SQLite(file);
  chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({ dialect: new BastionSqliteDialect({ database: cachingSqlite(sqlite) }) });
  const compile = (node: RootOperationNode, queryId: QueryId) => kysely.getExecutor().compileQuery(node, queryId);
  const timeoutMs = options.scanTimeoutMs ?? SCAN_TIMEOUT_MS;
  const readers: Record<ScanLane, ScanReaders> = {
    public: new ScanReaders(file, compile, { threads: SCAN_THREADS, timeoutMs }),
    admin: new ScanReaders(file, compile, { threads: ADMIN_SCAN_THREADS, timeoutMs }),
  };
  return {
    kysely,
    dialect: 'sqlite',
    scan: (query, scan) => readers[scan?.lane ?? 'public'].run(query.compile(), scan?.signal),
    async close() {
      await Promise.all([readers.public.close(), readers.admin.close()]);
      await kysely.destroy();
    },
  };
}

// COUNT(*) and bigint come back from pg as strings; every count we read fits a JS number.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

function openPostgres(config: Config, options: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString: config.databaseUrl ?? undefined,
    max: options.forMigrations ? 1 : config.databasePoolMax,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // The server's statement_timeout cancels a slow statement and frees its connection; an
    // abandoned transaction cannot hold locks > 30 s. A server that answers nothing at all is
    // the client-side deadline's (QUERY_TIMEOUT_MS, below).
    ...(options.forMigrations ? {} : { statement_timeout: STATEMENT_TIMEOUT_MS, idle_in_transaction_session_timeout: 30_000 }),
    types,
    ...(options.searchPath ? { options: `-c search_path=${quoteIdent(options.searchPath)}` } : {}),
  });
  // An idle client that loses its server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // The client-side deadline (packages/bastion/src/db/query-deadline.ts) is for a server that answers nothing.
  const deadlines = new QueryDeadlines(options.queryTimeoutMs ?? QUERY_TIMEOUT_MS);
  const kysely = new Kysely<Database>({
    dialect: new OwnSchemaPostgresDialect({ pool: options.forMigrations ? pool : namedStatementsPool(pool, deadlines) }),
  });
  return {
    kysely,
    dialect: 'postgres',
    ...(options.searchPath ? { schema: options.searchPath } : {}),
    scan: (query, scan) => scanWithDeadline(kysely, query.compile(), options.scanTimeoutMs ?? SCAN_TIMEOUT_MS, scan?.signal),
    async close() {
      await kysely.destroy();
    },
  };
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error('invalid schema name');
  return name;
}
