import type { FastifyInstance } from 'fastify';
import { type Config, installCrashHandlers, openRuntime, preparePasswordStrength, type Runtime, type RuntimeOptions } from 'bastion';
import { buildApp, conduitFeatures, conduitMigrations, type AppOptions } from './app.js';
import { markdownPool } from './content/markdown-pool.js';
import { staleRenderNotice } from './content/rerender.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly address: string;
  stop(): Promise<void>;
}

/** How long a SIGTERM waits for requests in flight before exiting anyway (non-zero). */
export const DRAIN_DEADLINE_MS = 10_000;

/**
 * Opens the runtime, builds the app and listens; SIGTERM/SIGINT drain and close cleanly, and an
 * error nothing caught is logged with its request and ends the process (packages/bastion/src/crash-handlers.ts).
 * `appOptions` adds routes (an application built on Bastion; tests).
 */
export async function startServer(
  config: Config,
  notices: readonly string[] = [],
  runtimeOptions: RuntimeOptions = {},
  appOptions: Pick<AppOptions, 'extraRoutes'> = {},
): Promise<RunningServer> {
  const runtime = await openRuntime(config, { migrations: conduitMigrations, features: conduitFeatures, ...runtimeOptions });
  const app = await buildApp(runtime, appOptions);
  for (const notice of notices) app.log.warn(notice);
  // Stored HTML is rendered once, when written: after a renderer upgrade the older rows keep the
  // older renderer's HTML until `bastion rerender` (one indexed count, migration 008).
  // A warning, never a reason not to start.
  const stale = await staleRenderNotice(runtime.db).catch(() => null);
  if (stale !== null) app.log.warn(stale);
  preparePasswordStrength();
  markdownPool().warm();
  const address = await app.listen({ host: config.host, port: config.port });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // Stop accepting, let in-flight requests finish (bounded), then close the pools.
      const deadline = setTimeout(() => {
        app.log.error({ deadlineMs: DRAIN_DEADLINE_MS }, 'drain deadline passed with requests still open: exiting anyway');
        process.exit(1);
      }, DRAIN_DEADLINE_MS);
      deadline.unref();
      await app.close();
      await runtime.close();
      clearTimeout(deadline);
      removeCrashHandlers();
      app.log.info('shut down: requests drained, pools closed');
    })());
  // Installed once there is a stop to call; an error before this gets Node's own report and exit 1.
  const removeCrashHandlers = installCrashHandlers(app.log, stop);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      app.log.info({ signal }, 'shutting down');
      // exit() without a code: 0, unless a crash during the drain has set process.exitCode.
      stop().then(
        () => process.exit(),
        () => process.exit(1),
      );
    });
  }
  return { app, runtime, address, stop };
}
