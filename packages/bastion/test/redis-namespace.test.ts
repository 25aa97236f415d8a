import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '../src/config/load-config.js';
import { openRuntime } from '../src/runtime.js';
import { namespaceFingerprints, RedisNamespaceTaken } from '../src/sessions/redis-namespace.js';
import { BACKENDS, isolate, randomKey, REDIS_URL } from '../src/testing/backends.js';

// Two deployments on one Redis database under one prefix would share per-user session sets (one's
// session page listing the other's sessions, one's "sign out everywhere" ending the other's)
// and rate-limit counts. A deployment marks its prefix with fingerprints of its keys; one whose
// keys share none with the mark refuses to start (packages/bastion/src/sessions/redis-namespace.ts).

const freshPrefix = (): string => `bastion-ns-test:${randomBytes(6).toString('hex')}:`;

async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}

/** Opens a deployment's runtime (its own PostgreSQL schema) on the shared Redis prefix; closed after the test. */
async function deploy(t: TestContext, prefix: string, secretKey: string, fallbacks: readonly string[] = []) {
  const iso = await isolate('postgres');
  t.after(() => iso.cleanup());
  const { config } = loadConfig({
    env: { NODE_ENV: 'test', ...iso.env, SECRET_KEY: secretKey, SECRET_KEY_FALLBACKS: fallbacks.join(','), REDIS_PREFIX: prefix },
    dotenvPath: null,
  });
  const runtime = await openRuntime(config, { searchPath: iso.searchPath! });
  t.after(() => runtime.close());
  return runtime;
}

// A bin with no routes of its own: `start` is the stack's command, its refusal the stack's.
const RUN_CLI = fileURLToPath(new URL('../src/cli/run-cli.ts', import.meta.url));
const BARE_BIN = `import { runCli } from ${JSON.stringify(RUN_CLI)};
await runCli({ name: 'Bare', bin: 'bare', options: {} }, process.argv.slice(1));`;
// tsx by its location: the child gets only the environment below.
const TSX = import.meta.resolve('tsx');

if (BACKENDS.includes('postgres')) {
  test('[postgres] a second deployment (another SECRET_KEY) on the same Redis prefix refuses to start; with its own REDIS_PREFIX it starts', async (t) => {
    const prefix = freshPrefix();
    t.after(() => dropKeys(prefix));
    const first = await deploy(t, prefix, randomKey());
    const stranger = randomKey();
    await assert.rejects(deploy(t, prefix, stranger), (err: Error) => {
      assert.ok(err instanceof RedisNamespaceTaken);
      assert.match(err.message, /REDIS_PREFIX/);
      assert.ok(!err.message.includes(stranger), 'no key in the message');
      return true;
    });
    assert.equal(await first.redis!.ping(), 'PONG', 'the first deployment is untouched');

    const own = freshPrefix();
    t.after(() => dropKeys(own));
    const second = await deploy(t, own, stranger);
    assert.equal(await second.redis!.ping(), 'PONG');
  });

  test('[postgres] instances of one deployment share the prefix, through a key rotation and a rolling deploy', async (t) => {
    const prefix = freshPrefix();
    t.after(() => dropKeys(prefix));
    const [oldKey, newKey] = [randomKey(), randomKey()];
    await deploy(t, prefix, oldKey);
    await deploy(t, prefix, oldKey); // a second instance
    await deploy(t, prefix, newKey, [oldKey]); // rotated: the old key is a fallback
    await deploy(t, prefix, oldKey); // an old instance restarting mid-deploy
    await deploy(t, prefix, newKey); // the fallback retired
    await assert.rejects(deploy(t, prefix, randomKey()), RedisNamespaceTaken);

    // The mark holds fingerprints only, never a key.
    const redis = new Redis(REDIS_URL);
    t.after(() => redis.quit());
    const marked = await redis.smembers(`${prefix}deployment-keys`);
    assert.equal(marked.length, 2);
    for (const key of [oldKey, newKey]) assert.ok(!marked.some((m) => key.includes(m) || m.includes(key)));
    const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: newKey, SECRET_KEY_FALLBACKS: oldKey }, dotenvPath: null });
    assert.deepEqual([...marked].sort(), [...namespaceFingerprints(config)].sort());
  });

  test("[postgres] `<bin> start` on another deployment's Redis prefix exits 1 with the reason, and no stack trace", async (t) => {
    const prefix = freshPrefix();
    t.after(() => dropKeys(prefix));
    await deploy(t, prefix, randomKey());
    const iso = await isolate('postgres');
    t.after(() => iso.cleanup());
    const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', BARE_BIN, 'start'], {
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
    assert.equal(code, 1, stderr);
    assert.match(stderr, /bastion\.E017/);
    assert.match(stderr, /REDIS_PREFIX/);
    assert.doesNotMatch(stderr, /^[ \t]+at /m, 'no stack trace');
  });
}

test('REDIS_PREFIX must be a plain key prefix', () => {
  for (const bad of ['', 'a b', 'x'.repeat(65), 'pre*fix', 'line\nbreak']) {
    assert.throws(
      () => loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), REDIS_PREFIX: bad }, dotenvPath: null }),
      ConfigError,
      JSON.stringify(bad),
    );
  }
  assert.equal(
    loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), REDIS_PREFIX: 'staging:conduit:' }, dotenvPath: null }).config
      .redisPrefix,
    'staging:conduit:',
  );
  assert.equal(loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey() }, dotenvPath: null }).config.redisPrefix, 'bastion:');
});
