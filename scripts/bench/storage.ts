import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { Redis } from 'ioredis';
import { hashPassword } from '../../packages/bastion/src/accounts/password-hasher.js';
import { loadConfig } from '../../packages/bastion/src/config/load-config.js';
import { conduitMigrations } from '../../apps/conduit/src/conduit/migrations/conduit-migrations.js';
import { openRuntime } from '../../packages/bastion/src/runtime.js';
import { seedDatabase } from '../../apps/conduit/src/seed/seed.js';
import { conduitDb } from '../../apps/conduit/src/conduit/tables.js';
import type { BenchBackend } from './options.js';

// The bench's own storage, thrown away afterwards: a temporary DATA_DIR (SQLite), or a fresh
// PostgreSQL schema and Redis key prefix, so a run never touches anyone's data and two runs
// (or a run and the test suite) never see each other. Seeded by the seed command's own code.

export const BENCH_PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Seeded users whose password the bench knows (the seed's own users share an unknown one). */
export const BENCH_ACCOUNTS = 50;

export interface BenchStorage {
  readonly backend: BenchBackend;
  readonly dataDir: string;
  /** Environment that points the app at this storage, with the deployment's SECRET_KEY. */
  readonly env: Readonly<Record<string, string>>;
  readonly searchPath?: string;
  readonly redisPrefix?: string;
  /** The SQLite file, or null on PostgreSQL. */
  readonly sqliteFile: string | null;
  readonly accounts: readonly { readonly email: string; readonly username: string }[];
  /** A strong random password (passes the policy) shared by the bench accounts. */
  readonly password: string;
  /** Slugs of the newest articles (the first page), for the single-article scenarios. */
  readonly slugs: readonly string[];
  cleanup(): Promise<void>;
}

export async function prepareStorage(backend: BenchBackend, seed: { users: number; articles: number }): Promise<BenchStorage> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-bench-'));
  const schema = backend === 'postgres' ? `bench_${randomBytes(6).toString('hex')}` : undefined;
  const redisPrefix = schema ? `bastion-bench:${schema}:` : undefined;
  // One deployment: the seeding and every app server share the key, as instances must (the Redis
  // prefix is marked with it, packages/bastion/src/sessions/redis-namespace.ts).
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    SECRET_KEY: randomBytes(32).toString('hex'),
    ...(backend === 'postgres' ? { DATABASE_URL: BENCH_PG_URL, REDIS_URL: BENCH_REDIS_URL } : {}),
  };
  const cleanup = async (): Promise<void> => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropSchemaAndKeys(schema, redisPrefix!);
  };
  try {
    if (schema) await withAdmin((db) => db.schema.createSchema(schema).execute());
    const { config } = loadConfig({ env: { NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env }, dotenvPath: null });
    const runtime = await openRuntime(config, {
      migrations: conduitMigrations,
      ...(schema ? { searchPath: schema } : {}),
      ...(redisPrefix ? { redisPrefix } : {}),
    });
    const password = randomBytes(24).toString('base64url');
    try {
      // A fixed generator seed and clock: every run measures the same articles.
      await seedDatabase(runtime.db, {
        users: seed.users,
        articles: seed.articles,
        seed: 20_240_601,
        now: new Date('2026-01-01T00:00:00Z'),
      });
      const db = conduitDb(runtime.db);
      // A database that has run a while has statistics and a visibility map (autovacuum); a
      // freshly seeded one has neither, and PostgreSQL would plan (and count) as if it were empty.
      if (backend === 'postgres') await sql`vacuum analyze`.execute(db);
      const accounts = await db.selectFrom('users').select(['id', 'email', 'username']).orderBy('id').limit(BENCH_ACCOUNTS).execute();
      const hash = await hashPassword(password);
      await db
        .updateTable('users')
        .set({ password_hash: hash })
        .where(
          'id',
          'in',
          accounts.map((a) => a.id),
        )
        .execute();
      const newest = await db.selectFrom('articles').select('slug').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(20).execute();
      return {
        backend,
        dataDir,
        env,
        ...(schema ? { searchPath: schema, redisPrefix } : {}),
        sqliteFile: backend === 'sqlite' ? join(dataDir, 'bastion.db') : null,
        accounts: accounts.map((a) => ({ email: a.email, username: a.username })),
        password,
        slugs: newest.map((a) => a.slug),
        cleanup,
      };
    } finally {
      await runtime.close();
    }
  } catch (err) {
    await cleanup().catch(() => {});
    throw err;
  }
}

async function withAdmin(work: (db: Kysely<unknown>) => Promise<unknown>): Promise<void> {
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: BENCH_PG_URL, max: 1 }) }) });
  try {
    await work(db);
  } finally {
    await db.destroy();
  }
}

async function dropSchemaAndKeys(schema: string, prefix: string): Promise<void> {
  await withAdmin((db) => db.schema.dropSchema(schema).ifExists().cascade().execute());
  const redis = new Redis(BENCH_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
