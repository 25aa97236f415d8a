import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { Redis } from 'ioredis';

// Every test that touches storage runs on both backends (Kysely's habit: loop over every
// dialect). BASTION_TEST_BACKENDS=sqlite (or postgres) narrows the run.

export type BackendName = 'sqlite' | 'postgres';

export const PG_URL = process.env.BASTION_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BASTION_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const BACKENDS: readonly BackendName[] = (process.env.BASTION_TEST_BACKENDS ?? 'sqlite,postgres')
  .split(',')
  .map((b) => b.trim())
  .filter((b): b is BackendName => b === 'sqlite' || b === 'postgres');

/** An isolated place to store things: a temp dir, and on postgres a fresh schema and Redis prefix. */
export interface Isolation {
  readonly backend: BackendName;
  readonly env: Record<string, string>;
  readonly searchPath?: string;
  readonly redisPrefix?: string;
  readonly dataDir: string;
  cleanup(): Promise<void>;
}

export const randomKey = (): string => randomBytes(32).toString('hex');

export async function isolate(backend: BackendName): Promise<Isolation> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-test-'));
  if (backend === 'sqlite') {
    return {
      backend,
      dataDir,
      env: { DATA_DIR: dataDir },
      async cleanup() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await withAdmin((db) => db.schema.createSchema(schema).execute());
  const redisPrefix = `bastion-test:${schema}:`;
  return {
    backend,
    dataDir,
    searchPath: schema,
    redisPrefix,
    env: { DATA_DIR: dataDir, DATABASE_URL: PG_URL, REDIS_URL, REDIS_PREFIX: redisPrefix },
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      await withAdmin((db) => db.schema.dropSchema(schema).ifExists().cascade().execute());
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}

async function withAdmin(work: (db: Kysely<unknown>) => Promise<unknown>): Promise<void> {
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: PG_URL, max: 1 }) }) });
  try {
    await work(db);
  } finally {
    await db.destroy();
  }
}
