import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Config } from './config/config.js';
import { openDatabase, type Db } from './db/database.js';
import { migrateToLatest, type AppMigrations } from './db/migrate.js';
import type { Feature } from './features/define-feature.js';
import { withFeatureMigrations } from './features/feature-migrations.js';
import { claimRedisNamespace } from './sessions/redis-namespace.js';

// The long-lived connections one Bastion process holds: the database and, when REDIS_URL is
// set, Redis. Opened once at start, closed once at shutdown.

export interface Runtime {
  readonly config: Config;
  readonly db: Db;
  readonly redis: Redis | null;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  readonly searchPath?: string;
  /** Prefix for every Redis key instead of REDIS_PREFIX (tests isolate themselves this way). */
  readonly redisPrefix?: string;
  /** Run migrations before returning (default true). */
  readonly migrate?: boolean;
  /** The application's own migrations, run after Bastion's (packages/bastion/src/db/migrate.ts AppMigrations). */
  readonly migrations?: AppMigrations;
  /**
   * Features whose migrations run in the same pass. createBastion brings them up anyway when they
   * are missing; naming them here too saves that second migration run on a fresh database.
   */
  readonly features?: readonly Feature[];
  /** PostgreSQL: how long a request's query may go unanswered (tests shorten it; see DbOptions). */
  readonly queryTimeoutMs?: number;
  /** How long one scan (a search, an admin's filter) may run (tests shorten it; see DbOptions). */
  readonly scanTimeoutMs?: number;
}

export function connectRedis(url: string, prefix: string): Redis {
  return new Redis(url, {
    keyPrefix: prefix,
    lazyConnect: true,
    // Commands issued in the same tick go out in one write: a login checks several limits, and
    // every write(2) costs 5–25 µs here (the bench's login flood spent 12% of the server's CPU
    // writing Redis commands one by one).
    enableAutoPipelining: true,
    // Fail fast while Redis is away instead of queueing: callers answer 503, never hang.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  });
}

/** Migrates on a connection of its own, without the request timeouts (see DbOptions.forMigrations). */
export async function migrateDatabase(config: Config, searchPath?: string, migrations?: AppMigrations): Promise<string[]> {
  const db = openDatabase(config, { ...(searchPath ? { searchPath } : {}), forMigrations: true });
  try {
    return await migrateToLatest(db, migrations);
  } finally {
    await db.close();
  }
}

export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  if (options.migrate !== false)
    await migrateDatabase(config, options.searchPath, withFeatureMigrations(options.migrations, options.features ?? []));
  const db = openDatabase(config, {
    ...(options.searchPath ? { searchPath: options.searchPath } : {}),
    ...(options.queryTimeoutMs ? { queryTimeoutMs: options.queryTimeoutMs } : {}),
    ...(options.scanTimeoutMs ? { scanTimeoutMs: options.scanTimeoutMs } : {}),
  });
  let redis: Redis | null = null;
  try {
    // The app's own pool opens its first connection here: a database that cannot be reached
    // fails the start, not the first request (and Kysely only closes a driver it has used).
    await sql`select 1`.execute(db.kysely);
    if (config.redisUrl) {
      const prefix = options.redisPrefix ?? config.redisPrefix;
      redis = connectRedis(config.redisUrl, prefix);
      redis.on('error', () => {}); // reported through /readyz and 503s, not as crashes
      await redis.connect();
      await claimRedisNamespace(redis, config, prefix);
    }
  } catch (err) {
    redis?.disconnect();
    await db.close();
    throw err;
  }
  return {
    config,
    db,
    redis,
    async close() {
      if (redis) await redis.quit().catch(() => redis?.disconnect());
      await db.close();
    },
  };
}
