import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp, conduitFeatures, type AppOptions } from '../../src/app.js';
import { type Config, loadConfig, openRuntime, type Runtime, type RuntimeOptions } from 'bastion';
import { conduitMigrations } from '../../src/conduit/migrations/conduit-migrations.js';
import { isolate, randomKey, type BackendName } from 'bastion/testing';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly config: Config;
  /** Every log line the app wrote, as text. */
  readonly logs: () => string;
}

/** Builds a fully configured app on an isolated store; closed and cleaned in t.after. Test-only routes go in `appOptions.extraRoutes`, inside the face they belong to. */
export async function startTestApp(
  t: TestContext,
  backend: BackendName,
  env: Record<string, string> = {},
  runtimeOptions: Pick<RuntimeOptions, 'queryTimeoutMs' | 'scanTimeoutMs'> = {},
  appOptions: Pick<AppOptions, 'extraRoutes' | 'mailer' | 'now' | 'onRoute'> = {},
): Promise<TestApp> {
  const iso = await isolate(backend);
  const { config } = loadConfig({
    env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), LOG_LEVEL: 'info', ...iso.env, ...env },
    dotenvPath: null,
  });
  const runtime = await openRuntime(config, {
    searchPath: iso.searchPath,
    redisPrefix: iso.redisPrefix,
    migrations: conduitMigrations,
    features: conduitFeatures,
    ...runtimeOptions,
  });
  const chunks: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const app = await buildApp(runtime, { logStream, ...appOptions });
  t.after(async () => {
    await app.close();
    await runtime.close();
    await iso.cleanup();
  });
  return { app, runtime, config, logs: () => chunks.join('') };
}
