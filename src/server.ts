import type { FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import { preparePasswordStrength } from './accounts/password-strength.js';
import { buildApp } from './app.js';
import { markdownPool } from './content/markdown-pool.js';
import { staleRenderNotice } from './content/rerender.js';
import { openRuntime, type Runtime, type RuntimeOptions } from './runtime.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly address: string;
  stop(): Promise<void>;
}

/** How long a SIGTERM waits for requests in flight before exiting anyway (non-zero). */
export const DRAIN_DEADLINE_MS = 10_000;

/** Opens the runtime, builds the app and listens; SIGTERM/SIGINT drain and close cleanly. */
export async function startServer(config: Config, notices: readonly string[] = [], runtimeOptions: RuntimeOptions = {}): Promise<RunningServer> {
  const runtime = await openRuntime(config, runtimeOptions);
  const app = await buildApp(runtime);
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
      app.log.info('shut down: requests drained, pools closed');
    })());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      app.log.info({ signal }, 'shutting down');
      stop().then(() => process.exit(0), () => process.exit(1));
    });
  }
  return { app, runtime, address, stop };
}
