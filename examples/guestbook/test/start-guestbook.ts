import type { TestContext } from 'node:test';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createBastion, loadConfig, openRuntime, type Runtime } from 'bastion';
import { isolate, randomKey, type BackendName } from 'bastion/testing';
import { guestbook } from '../src/guestbook.js';

// The guestbook on an isolated store of the given backend, built as src/main.ts builds it but
// with a test configuration; closed and cleaned in t.after.

export interface TestGuestbook {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
}

export async function startGuestbook(t: TestContext, backend: BackendName): Promise<TestGuestbook> {
  const iso = await isolate(backend);
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), LOG_LEVEL: 'warn', ...iso.env }, dotenvPath: null });
  const { migrations, ...options } = guestbook();
  const runtime = await openRuntime(config, { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix, migrations });
  const quiet = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const app = await createBastion(runtime, { ...options, logStream: quiet });
  t.after(async () => {
    await app.close();
    await runtime.close();
    await iso.cleanup();
  });
  return { app, runtime };
}
