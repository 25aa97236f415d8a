import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig, openRuntime } from 'bastion';
import { BACKENDS, isolate, randomKey, REDIS_URL } from 'bastion/testing';

// Two deployments on one Redis database under one prefix would share sessions and rate-limit
// counts, so the second refuses to start (packages/bastion/src/sessions/redis-namespace.ts; the
// refusal, the mark and key rotation: packages/bastion/test/redis-namespace.test.ts). Here:
// Conduit's own bin, whose start is its own (apps/conduit/src/server.ts), refuses the same way.

const freshPrefix = (): string => `bastion-ns-test:${randomBytes(6).toString('hex')}:`;

async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}

/** Opens a deployment's runtime (its own PostgreSQL schema) on the shared Redis prefix; closed after the test. */
async function deploy(t: TestContext, prefix: string, secretKey: string) {
  const iso = await isolate('postgres');
  t.after(() => iso.cleanup());
  const { config } = loadConfig({ env: { NODE_ENV: 'test', ...iso.env, SECRET_KEY: secretKey, REDIS_PREFIX: prefix }, dotenvPath: null });
  const runtime = await openRuntime(config, { searchPath: iso.searchPath! });
  t.after(() => runtime.close());
  return runtime;
}

if (BACKENDS.includes('postgres')) {
  test("[postgres] `bastion start` on another deployment's Redis prefix exits 1 with the reason, and no stack trace", async (t) => {
    const prefix = freshPrefix();
    t.after(() => dropKeys(prefix));
    await deploy(t, prefix, randomKey());
    const iso = await isolate('postgres');
    t.after(() => iso.cleanup());
    const child = spawn(process.execPath, ['apps/conduit/bin/conduit.js', 'start'], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        ...iso.env,
        DATABASE_URL: `${iso.env.DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${iso.searchPath}`)}`,
        REDIS_PREFIX: prefix,
        SECRET_KEY: randomKey(),
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    assert.match(stderr, /bastion\.E017/);
    assert.match(stderr, /REDIS_PREFIX/);
    assert.doesNotMatch(stderr, /^[ \t]+at /m, 'no stack trace');
  });
}
