import { Writable } from 'node:stream';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/load-config.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { isolate, randomKey, type BackendName } from './backends.js';
import { routeCatalogue, type CataloguedRoute } from './route-catalogue.js';

// What the kit needs from an app: a builder of the shape of apps/conduit/src/app.ts's buildApp, given an
// open runtime (Bastion's database, Redis, configuration), a way to see its routes as they
// register, and where to write its log. Everything else (isolation, configuration, the route
// list) the kit does itself, the same way for every app.

export interface BuildOptions {
  /** Sees every route as it registers (called with the registering scope as `this`). */
  readonly onRoute?: (route: RouteOptions) => void;
  /** Where the app's log goes: the kit keeps it out of the test output. */
  readonly logStream?: Writable;
}

export type AppBuilder = (runtime: Runtime, options: BuildOptions) => Promise<FastifyInstance>;

export interface AppUnderTest {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly config: Config;
  readonly routes: readonly CataloguedRoute[];
  close(): Promise<void>;
}

/** The test configuration every kit app starts from; `env` (the app's own settings, production) goes over it. */
export function testEnv(env: Record<string, string> = {}): Record<string, string> {
  return { NODE_ENV: 'test', SECRET_KEY: randomKey(), LOG_LEVEL: 'info', ...env };
}

/** Builds the app on an isolated store of `backend`; close() removes the store again. */
export async function openAppUnderTest(build: AppBuilder, backend: BackendName, env: Record<string, string> = {}): Promise<AppUnderTest> {
  const iso = await isolate(backend);
  const { config } = loadConfig({ env: testEnv({ ...iso.env, ...env }), dotenvPath: null });
  const runtime = await openRuntime(config, { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix });
  const catalogue = routeCatalogue();
  const logStream = new Writable({ write: (_chunk, _enc, cb) => cb() });
  let app: FastifyInstance;
  try {
    app = await build(runtime, { onRoute: catalogue.onRoute, logStream });
  } catch (err) {
    await runtime.close();
    await iso.cleanup();
    throw err;
  }
  return {
    app,
    runtime,
    config,
    routes: catalogue.routes,
    async close() {
      await app.close();
      await runtime.close();
      await iso.cleanup();
    },
  };
}
