import { buildApp } from '../../apps/conduit/src/app.js';
import { formatFindings, loadConfig } from '../../packages/bastion/src/config/load-config.js';
import { conduitMigrations } from '../../apps/conduit/src/conduit/migrations/conduit-migrations.js';
import { openRuntime } from '../../packages/bastion/src/runtime.js';
import { TRIVIAL_PATH } from './paths.js';
import { readSpec, serveIpc } from './child-ipc.js';

// Child process: the real Conduit app, built by buildApp exactly as `bastion start` builds it,
// with a production configuration behind a trusted proxy on loopback. The one addition is a
// trivial route registered on the root instance, so it runs every global layer (HTTPS
// redirect, headers, views, cookies, rate limit, session, CSRF, input guard, validation,
// error handling, logging); /healthz is exempt from the rate limit, so it would flatter us.

export interface AppServerSpec {
  readonly env: Record<string, string>;
  readonly searchPath?: string;
  readonly redisPrefix?: string;
}

const spec = readSpec<AppServerSpec>();
const { config, findings } = loadConfig({ env: spec.env, dotenvPath: null });
const errors = findings.filter((f) => f.severity === 'error');
if (config.isProduction && errors.length > 0) {
  // The bench measures a configuration that `bastion start` would accept, or nothing.
  process.stderr.write(`bench app refuses to start:\n${formatFindings(errors)}\n`);
  process.exit(1);
}
const runtime = await openRuntime(config, {
  migrations: conduitMigrations,
  ...(spec.searchPath ? { searchPath: spec.searchPath } : {}),
  ...(spec.redisPrefix ? { redisPrefix: spec.redisPrefix } : {}),
});
// The trivial route is a page like any other: it runs the pages' scope (cookie, session, CSRF).
const app = await buildApp(runtime, {
  extraRoutes: {
    pages: async (pages) => {
      pages.get(
        TRIVIAL_PATH,
        { config: { access: 'public' }, schema: { querystring: { type: 'object', additionalProperties: false, properties: {} } } },
        async () => ({ status: 'ok' }),
      );
    },
  },
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
serveIpc(typeof address === 'object' && address ? address.port : 0, async () => {
  await app.close();
  await runtime.close();
});
