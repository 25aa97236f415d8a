import type { FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import { buildApp } from './app.js';
import { openRuntime, type Runtime, type RuntimeOptions } from './runtime.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly address: string;
  stop(): Promise<void>;
}

/** Opens the runtime, builds the app and listens; SIGTERM/SIGINT drain and close cleanly. */
export async function startServer(config: Config, notices: readonly string[] = [], runtimeOptions: RuntimeOptions = {}): Promise<RunningServer> {
  const runtime = await openRuntime(config, runtimeOptions);
  const app = await buildApp(runtime);
  for (const notice of notices) app.log.warn(notice);
  const address = await app.listen({ host: config.host, port: config.port });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // Stop accepting, let in-flight requests finish (bounded), then close the pools.
      const deadline = setTimeout(() => process.exit(1), 10_000);
      deadline.unref();
      await app.close();
      await runtime.close();
      clearTimeout(deadline);
    })());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      app.log.info({ signal }, 'shutting down');
      stop().then(() => process.exit(0), () => process.exit(1));
    });
  }
  return { app, runtime, address, stop };
}
