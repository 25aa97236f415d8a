import { type Config, listenBastion, openRuntime, type RuntimeOptions, type StartedBastion } from 'bastion';
import { buildApp, conduitFeatures, conduitMigrations, type AppOptions } from './app.js';
import { markdownPool } from './content/markdown-pool.js';
import { staleRenderNotice } from './content/rerender.js';

/**
 * Opens the runtime, builds the app and listens; SIGTERM/SIGINT drain (bounded) and close
 * cleanly, and an error nothing caught is logged with its request and ends the process: both
 * Bastion's listenBastion (packages/bastion/src/start-bastion.ts). What is Conduit's own: the
 * stale-render warning and the warmed Markdown threads. `appOptions` adds routes (tests).
 */
export async function startServer(
  config: Config,
  notices: readonly string[] = [],
  runtimeOptions: RuntimeOptions = {},
  appOptions: Pick<AppOptions, 'extraRoutes'> = {},
): Promise<StartedBastion> {
  const runtime = await openRuntime(config, { migrations: conduitMigrations, features: conduitFeatures, ...runtimeOptions });
  const app = await buildApp(runtime, appOptions);
  for (const notice of notices) app.log.warn(notice);
  // Stored HTML is rendered once, when written: after a renderer upgrade the older rows keep the
  // older renderer's HTML until `bastion rerender` (one indexed count, migration 008).
  // A warning, never a reason not to start.
  const stale = await staleRenderNotice(runtime.db).catch(() => null);
  if (stale !== null) app.log.warn(stale);
  markdownPool().warm();
  // Listening, the password estimator built, the bounded SIGTERM drain and the crash handlers: Bastion's production start.
  return listenBastion(app, runtime, config);
}
